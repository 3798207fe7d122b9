/** POST /products/{id}/stock-adjustments and POST /stock-adjustments (SPEC › Stock operations). */
import { beforeEach, describe, expect, test } from 'bun:test'
import { insertProduct, stockOf } from '../support/fixtures'
import { call, FORBIDDEN_BODY, query, resetDatabase, type Seeded } from '../support/helpers'

let users: Seeded
beforeEach(async () => {
  users = await resetDatabase()
})

const isoDate = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
const invalid = (message: string) => ({ error: 'Invalid input', message })
const conflict = (message: string) => ({ error: 'Conflict', message })
const productNotFound = (message: string) => ({ error: 'Product not found', message })

const adjust = (id: number, body: unknown, options: { as?: Seeded[keyof Seeded]; key?: string } = {}) =>
  call('POST', `/products/${id}/stock-adjustments`, {
    as: options.as ?? users.manager,
    body,
    headers: options.key ? { 'idempotency-key': options.key } : {},
  })
const bulk = (items: unknown[], options: { as?: Seeded[keyof Seeded]; key?: string } = {}) =>
  call('POST', '/stock-adjustments', { as: options.as ?? users.manager, body: { items }, headers: options.key ? { 'idempotency-key': options.key } : {} })

/** Everything an adjustment may write, to prove a refused one wrote nothing. */
const snapshot = async () => ({
  products: await query('SELECT id, stock_quantity, version::int FROM products ORDER BY id'),
  movements: await query('SELECT id, product_id, delta, stock_after, reason, note FROM stock_movements ORDER BY id'),
  alerts: await query('SELECT product_id, stock, threshold FROM alerts ORDER BY id'),
  keys: await query('SELECT key FROM idempotency_keys'),
})

async function withSku(sku: string, stock: number, threshold = 0) {
  const id = await insertProduct({ name: sku, stock, threshold })
  await query('UPDATE products SET sku = $2 WHERE id = $1', [id, sku])
  return id
}

describe('POST /products/{id}/stock-adjustments', () => {
  test('201 with the movement; the stock, the ledger and the ETag follow', async () => {
    const id = await insertProduct({ stock: 20, threshold: 0 })
    const etag = (await call('GET', `/products/${id}`, { as: users.customer })).headers.get('etag')
    const response = await adjust(id, { delta: -3, reason: 'damage', note: 'Dropped.' })
    expect(response.status).toBe(201)
    expect(response.body).toEqual({
      id: 2,
      product_id: id,
      delta: -3,
      stock_after: 17,
      reason: 'damage',
      note: 'Dropped.',
      user_id: users.manager.id,
      order_id: null,
      created_at: isoDate,
    })
    expect(await stockOf(id)).toEqual({ stock: 17, ledger: 17 })
    expect((await call('GET', `/products/${id}/stock-movements`, { as: users.manager })).body.items![0]).toEqual(response.body)
    expect((await call('GET', `/products/${id}`, { as: users.customer })).headers.get('etag')).not.toBe(etag)
  })

  test.each(['restock', 'return', 'damage', 'loss', 'count', 'correction'])('reason %s is kept on the movement; no note is null', async (reason) => {
    const id = await insertProduct({ stock: 5 })
    const response = await adjust(id, { delta: 1, reason })
    expect(response.status).toBe(201)
    expect(response.body).toMatchObject({ reason, note: null, stock_after: 6 })
  })

  test('below zero → 400 with the numbers, nothing written', async () => {
    const id = await insertProduct({ stock: 3 })
    const before = await snapshot()
    const response = await adjust(id, { delta: -5, reason: 'loss' })
    expect(response.status).toBe(400)
    expect(response.body).toEqual(invalid('Stock cannot go below zero: 3 in stock, delta -5.'))
    expect(await snapshot()).toEqual(before)
    expect((await adjust(id, { delta: -3, reason: 'loss' })).body.stock_after).toBe(0)
  })

  test('above 1,000,000,000 → 400, nothing written', async () => {
    const id = await insertProduct({ stock: 999_999_990 })
    const response = await adjust(id, { delta: 20, reason: 'restock' })
    expect(response.status).toBe(400)
    expect(response.body).toEqual(invalid('Stock cannot go above 1000000000: 999999990 in stock, delta 20.'))
    expect(await stockOf(id)).toEqual({ stock: 999_999_990, ledger: 999_999_990 })
  })

  test('expected_stock: a count correction applies when the stock is still that number, else 409 and nothing changes', async () => {
    const id = await insertProduct({ stock: 9 })
    await call('POST', '/orders', { as: users.customer, body: { product_id: id, quantity: 2 } })
    const before = await snapshot()
    const stale = await adjust(id, { delta: -1, reason: 'count', expected_stock: 9 })
    expect(stale.status).toBe(409)
    expect(stale.body).toEqual(conflict('The stock is 7, not the expected 9.'))
    expect(await snapshot()).toEqual(before)
    const current = await adjust(id, { delta: -1, reason: 'count', expected_stock: 7 })
    expect(current.status).toBe(201)
    expect(current.body.stock_after).toBe(6)
    expect(await stockOf(id)).toEqual({ stock: 6, ledger: 6 })
  })

  test('a crossing of the low-stock threshold records one alert, as an order does', async () => {
    const id = await insertProduct({ stock: 12, threshold: 10 })
    await adjust(id, { delta: -2, reason: 'damage' })
    expect(await query('SELECT product_id, stock, threshold, order_id FROM alerts')).toEqual([])
    await adjust(id, { delta: -1, reason: 'damage' })
    await adjust(id, { delta: -1, reason: 'damage' })
    expect(await query('SELECT product_id, stock, threshold, order_id FROM alerts')).toEqual([{ product_id: id, stock: 9, threshold: 10, order_id: null }])
    expect((await call('GET', '/alerts', { as: users.manager })).body.items).toHaveLength(1)
  })

  test('a missing or deleted product → 404', async () => {
    const id = await insertProduct({ stock: 5 })
    await call('DELETE', `/products/${id}`, { as: users.admin })
    for (const target of [id, 999]) {
      const response = await adjust(target, { delta: 1, reason: 'restock' })
      expect(response.status).toBe(404)
      expect(response.body).toEqual(productNotFound(`The product with ID ${target} does not exist.`))
    }
    expect(await query('SELECT count(*)::int AS n FROM stock_movements')).toEqual([{ n: 1 }])
  })

  test.each([
    [{ reason: 'restock' }, 'Adjustment delta is required.'],
    [{ delta: 0, reason: 'restock' }, 'Adjustment delta must not be zero.'],
    [{ delta: 1.5, reason: 'restock' }, 'Adjustment delta must be an integer.'],
    [{ delta: 1_000_000_001, reason: 'restock' }, 'Adjustment delta must be at most 1000000000.'],
    [{ delta: 1 }, 'Adjustment reason is required.'],
    [{ delta: 1, reason: 'order' }, 'Adjustment reason must be one of: restock, return, damage, loss, count, correction.'],
    [{ delta: 1, reason: 'restock', note: 'x'.repeat(501) }, 'Adjustment note must be at most 500 characters long.'],
    [{ delta: 1, reason: 'restock', expected_stock: -1 }, 'Adjustment expected_stock must be at least 0.'],
  ])('%j → 400 %s', async (body, message) => {
    const id = await insertProduct({ stock: 5 })
    const response = await adjust(id, body)
    expect(response.status).toBe(400)
    expect(response.body).toEqual(invalid(message))
    expect(await stockOf(id)).toEqual({ stock: 5, ledger: 5 })
  })

  test('roles: anonymous 401, customers 403, managers and admins 201', async () => {
    const id = await insertProduct({ stock: 5 })
    const anonymous = await call('POST', `/products/${id}/stock-adjustments`, { body: { delta: 1, reason: 'restock' } })
    expect(anonymous.status).toBe(401)
    expect(anonymous.body.error).toBe('Unauthorized')
    const customer = await adjust(id, { delta: 1, reason: 'restock' }, { as: users.customer })
    expect(customer.status).toBe(403)
    expect(customer.body).toEqual(FORBIDDEN_BODY)
    expect(await stockOf(id)).toEqual({ stock: 5, ledger: 5 })
    for (const staff of [users.manager, users.admin]) expect((await adjust(id, { delta: 1, reason: 'restock' }, { as: staff })).status).toBe(201)
    expect(await stockOf(id)).toEqual({ stock: 7, ledger: 7 })
  })

  test('Idempotency-Key: a repeat replays the movement and changes nothing; another body or product → 409', async () => {
    const id = await insertProduct({ stock: 5 })
    const other = await insertProduct({ name: 'Other', stock: 5 })
    const first = await adjust(id, { delta: 2, reason: 'restock' }, { key: 'k-1' })
    expect(first.status).toBe(201)
    const replay = await adjust(id, { delta: 2, reason: 'restock' }, { key: 'k-1' })
    expect(replay.status).toBe(201)
    expect(replay.body).toEqual(first.body)
    expect(replay.headers.get('idempotent-replayed')).toBe('true')
    expect(first.headers.get('idempotent-replayed')).toBeNull()
    expect(await stockOf(id)).toEqual({ stock: 7, ledger: 7 })
    for (const [target, body] of [
      [id, { delta: 3, reason: 'restock' }],
      [other, { delta: 2, reason: 'restock' }],
    ] as const) {
      const reused = await adjust(target, body, { key: 'k-1' })
      expect(reused.status).toBe(409)
      expect(reused.body).toEqual(conflict('This Idempotency-Key was already used with a different request.'))
    }
    // The same key on another endpoint is another request too.
    const order = await call('POST', '/orders', { as: users.manager, body: { product_id: id, quantity: 1 }, headers: { 'idempotency-key': 'k-1' } })
    expect(order.status).toBe(409)
    expect(await stockOf(id)).toEqual({ stock: 7, ledger: 7 })
    expect(await stockOf(other)).toEqual({ stock: 5, ledger: 5 })
  })

  test('Idempotency-Key: a refused adjustment stores nothing and may be retried', async () => {
    const id = await insertProduct({ stock: 1 })
    expect((await adjust(id, { delta: -2, reason: 'loss' }, { key: 'k-2' })).status).toBe(400)
    expect(await query('SELECT key FROM idempotency_keys')).toEqual([])
    await adjust(id, { delta: 5, reason: 'restock' })
    expect((await adjust(id, { delta: -2, reason: 'loss' }, { key: 'k-2' })).status).toBe(201)
    expect(await stockOf(id)).toEqual({ stock: 4, ledger: 4 })
  })
})

describe('POST /stock-adjustments', () => {
  test('201 with one movement per item, in the items\' order, by product_id or SKU (any case)', async () => {
    const a = await insertProduct({ stock: 10, threshold: 0 })
    const b = await withSku('DRL-1', 4)
    const response = await bulk([
      { product_id: a, delta: -2, reason: 'damage', note: 'Cracked.' },
      { sku: 'drl-1', delta: 6, reason: 'restock' },
      { product_id: b, delta: -1, reason: 'count', expected_stock: 4 },
    ])
    expect(response.status).toBe(201)
    expect(response.body.items!.map(({ product_id, delta, stock_after, reason, note }) => ({ product_id, delta, stock_after, reason, note }))).toEqual([
      { product_id: a, delta: -2, stock_after: 8, reason: 'damage', note: 'Cracked.' },
      { product_id: b, delta: 6, stock_after: 10, reason: 'restock', note: null },
      { product_id: b, delta: -1, stock_after: 9, reason: 'count', note: null },
    ])
    expect(response.body.items![0]).toMatchObject({ user_id: users.manager.id, order_id: null, created_at: isoDate })
    expect(await stockOf(a)).toEqual({ stock: 8, ledger: 8 })
    expect(await stockOf(b)).toEqual({ stock: 9, ledger: 9 })
  })

  test('a product named twice is judged on its sum; its ledger takes the increases first, never below zero', async () => {
    const id = await insertProduct({ stock: 3 })
    const response = await bulk([
      { product_id: id, delta: -5, reason: 'loss' },
      { product_id: id, delta: 10, reason: 'restock' },
    ])
    expect(response.status).toBe(201)
    expect(response.body.items!.map((movement) => [movement.delta, movement.stock_after])).toEqual([
      [-5, 8],
      [10, 13],
    ])
    expect(await query('SELECT delta, stock_after FROM stock_movements WHERE product_id = $1 ORDER BY id', [id])).toEqual([
      { delta: 3, stock_after: 3 },
      { delta: 10, stock_after: 13 },
      { delta: -5, stock_after: 8 },
    ])
    const short = await bulk([
      { product_id: id, delta: -5, reason: 'loss' },
      { product_id: id, delta: -4, reason: 'loss' },
    ])
    expect(short.status).toBe(400)
    expect(short.body).toEqual(invalid('Item 2: Stock cannot go below zero: 8 in stock, delta -9.'))
  })

  test('a bad last item writes nothing: the first failing item\'s error, named by its position', async () => {
    const ids = await Promise.all([1, 2, 3].map((n) => insertProduct({ name: `P${n}`, stock: 10 })))
    const good = ids.map((id) => ({ product_id: id, delta: -1, reason: 'loss' }))
    const cases: Array<[unknown, number, object]> = [
      [{ product_id: ids[0], delta: -11, reason: 'loss' }, 400, invalid('Item 4: Stock cannot go below zero: 10 in stock, delta -12.')],
      [{ product_id: 999, delta: 1, reason: 'restock' }, 404, productNotFound('Item 4: The product with ID 999 does not exist.')],
      [{ sku: 'NOPE', delta: 1, reason: 'restock' }, 404, productNotFound('Item 4: There is no product with this SKU.')],
      [{ product_id: ids[1], delta: 1, reason: 'count', expected_stock: 9 }, 409, conflict('Item 4: The stock is 10, not the expected 9.')],
      [{ product_id: ids[2], delta: 1 }, 400, invalid('Item 4: Adjustment reason is required.')],
      [{ product_id: ids[2], sku: 'X', delta: 1, reason: 'restock' }, 400, invalid('Item 4: Send either product_id or sku.')],
      [[{ product_id: ids[2] }], 400, invalid('Item 4: The item must be an object.')],
    ]
    const before = await snapshot()
    for (const [last, status, body] of cases) {
      const response = await bulk([...good, last])
      expect(response.status).toBe(status)
      expect(response.body).toEqual(body)
      expect(await snapshot()).toEqual(before)
    }
  })

  test('the first failing position wins when several fail', async () => {
    const id = await insertProduct({ stock: 1 })
    const response = await bulk([
      { product_id: id, delta: 1, reason: 'restock' },
      { product_id: 999, delta: 1, reason: 'restock' },
      { product_id: id, delta: -5, reason: 'loss' },
    ])
    expect(response.body).toEqual(productNotFound('Item 2: The product with ID 999 does not exist.'))
  })

  test('1–1,000 items', async () => {
    const id = await insertProduct({ stock: 0 })
    expect((await bulk([])).body).toEqual(invalid('Adjustment items must contain at least 1 items.'))
    const tooMany = Array.from({ length: 1001 }, () => ({ product_id: id, delta: 1, reason: 'restock' }))
    expect((await bulk(tooMany)).body).toEqual(invalid('Adjustment items must contain at most 1000 items.'))
    const response = await bulk(tooMany.slice(1))
    expect(response.status).toBe(201)
    expect(response.body.items).toHaveLength(1000)
    expect(await stockOf(id)).toEqual({ stock: 1000, ledger: 1000 })
  })

  test('one alert per product whose stock the batch takes below its threshold', async () => {
    const id = await insertProduct({ stock: 12, threshold: 10 })
    await bulk([
      { product_id: id, delta: -2, reason: 'loss' },
      { product_id: id, delta: -3, reason: 'loss' },
    ])
    expect(await query('SELECT product_id, stock, threshold FROM alerts')).toEqual([{ product_id: id, stock: 7, threshold: 10 }])
  })

  test('roles: managers and admins only', async () => {
    const id = await insertProduct({ stock: 1 })
    const items = [{ product_id: id, delta: 1, reason: 'restock' }]
    expect((await call('POST', '/stock-adjustments', { body: { items } })).status).toBe(401)
    const customer = await bulk(items, { as: users.customer })
    expect(customer.status).toBe(403)
    expect(customer.body).toEqual(FORBIDDEN_BODY)
    expect((await bulk(items, { as: users.admin })).status).toBe(201)
    expect(await stockOf(id)).toEqual({ stock: 2, ledger: 2 })
  })

  test('Idempotency-Key: a repeat replays the movements and changes nothing', async () => {
    const id = await insertProduct({ stock: 1 })
    const items = [{ product_id: id, delta: 4, reason: 'restock' }]
    const first = await bulk(items, { key: 'bulk-1' })
    const replay = await bulk(items, { key: 'bulk-1' })
    expect(replay.status).toBe(201)
    expect(replay.body).toEqual(first.body)
    expect(replay.headers.get('idempotent-replayed')).toBe('true')
    expect(await stockOf(id)).toEqual({ stock: 5, ledger: 5 })
    expect((await bulk([{ product_id: id, delta: 5, reason: 'restock' }], { key: 'bulk-1' })).status).toBe(409)
  })
})
