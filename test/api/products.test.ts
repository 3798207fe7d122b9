import { beforeEach, describe, expect, test } from 'bun:test'
import { call, FORBIDDEN_BODY, insertCategory, query, resetDatabase, tokenFor, type Seeded, type TestResponse } from '../support/helpers'
import type { OpenApiDocument } from '../support/body'

let users: Seeded
beforeEach(async () => {
  users = await resetDatabase()
})

type Who = 'anonymous' | keyof Seeded
const as = (who: Who) => (who === 'anonymous' ? undefined : users[who])
const roles = (anonymous: number, customer: number, manager: number, admin: number) =>
  [
    ['anonymous', anonymous],
    ['customer', customer],
    ['manager', manager],
    ['admin', admin],
  ] as const

const isoDate = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
const UNAUTHORIZED_BODY = { error: 'Unauthorized', message: 'Authentication is required: send Basic credentials or a Bearer token.' }
const productNotFound = (id: number) => ({ error: 'Product not found', message: `The product with ID ${id} does not exist.` })
const invalid = (message: string) => ({ error: 'Invalid input', message })

async function createProduct(body: Record<string, unknown>): Promise<any> {
  const response = await call('POST', '/products', { as: users.manager, body: { price: 1, stock: 0, ...body } })
  if (response.status !== 201) throw new Error(`create failed: ${response.text}`)
  return response.body
}

/** The stored stock next to the sum of the product's ledger. */
async function stockAndLedger(id: number) {
  const [row] = await query(
    `SELECT stock_quantity AS stock, (SELECT COALESCE(sum(delta), 0)::int FROM stock_movements WHERE product_id = $1) AS ledger
     FROM products WHERE id = $1`,
    [id],
  )
  return row
}

const movements = (id: number) =>
  query('SELECT delta, stock_after, reason, user_id, order_id FROM stock_movements WHERE product_id = $1 ORDER BY id', [id])
const count = async (table: string) => (await query(`SELECT count(*)::int AS n FROM ${table}`))[0].n

describe('POST /products', () => {
  test('a manager creates a product: 201, the product, its categories and its initial movement', async () => {
    const tools = await insertCategory('Tools')
    const garden = await insertCategory('Garden')
    const response = await call('POST', '/products', {
      as: users.manager,
      body: { name: 'Drill', description: 'Cordless.', price: 89.9, stock: 12, low_stock_threshold: 4, category_ids: [garden, tools] },
    })
    expect(response.status).toBe(201)
    expect(response.body).toEqual({
      id: 1,
      sku: null,
      name: 'Drill',
      description: 'Cordless.',
      price: 89.9,
      stock: 12,
      low_stock_threshold: 4,
      categories: [
        { id: tools, name: 'Tools' },
        { id: garden, name: 'Garden' },
      ],
      created_at: isoDate,
      updated_at: isoDate,
    })
    expect(await query('SELECT name, description, price::text, stock_quantity, low_stock_threshold, deleted_at FROM products')).toEqual([
      { name: 'Drill', description: 'Cordless.', price: '89.90', stock_quantity: 12, low_stock_threshold: 4, deleted_at: null },
    ])
    expect(await query('SELECT category_id FROM product_categories WHERE product_id = 1 ORDER BY category_id')).toEqual([
      { category_id: tools },
      { category_id: garden },
    ])
    expect(await movements(1)).toEqual([{ delta: 12, stock_after: 12, reason: 'initial', user_id: users.manager.id, order_id: null }])
    expect(await stockAndLedger(1)).toEqual({ stock: 12, ledger: 12 })
  })

  test('defaults: no description, the configured threshold (10), no categories', async () => {
    const response = await call('POST', '/products', { as: users.admin, body: { name: 'Rake', price: 12, stock: 3 } })
    expect(response.status).toBe(201)
    expect(response.body).toMatchObject({ description: null, low_stock_threshold: 10, categories: [] })
  })

  test('a product created with stock 0 has no movement, and its ledger still adds up', async () => {
    const product = await createProduct({ name: 'Empty', stock: 0 })
    expect(product.stock).toBe(0)
    expect(await movements(product.id)).toEqual([])
    expect(await stockAndLedger(product.id)).toEqual({ stock: 0, ledger: 0 })
  })

  test('stock_quantity is accepted as an alias of stock', async () => {
    const response = await call('POST', '/products', { as: users.manager, body: { name: 'Saw', price: 5, stock_quantity: 7 } })
    expect(response.status).toBe(201)
    expect(response.body.stock).toBe(7)
    expect(await stockAndLedger(response.body.id!)).toEqual({ stock: 7, ledger: 7 })
  })

  test('when both stock and stock_quantity are sent, stock wins', async () => {
    const response = await call('POST', '/products', { as: users.manager, body: { name: 'Saw', price: 5, stock: 3, stock_quantity: 9 } })
    expect(response.status).toBe(201)
    expect(response.body.stock).toBe(3)
  })

  test('fields a client must not set are ignored', async () => {
    const response = await call('POST', '/products', {
      as: users.manager,
      body: { name: 'Saw', price: 5, stock: 1, id: 99, created_at: '2000-01-01T00:00:00Z', deleted_at: '2000-01-01T00:00:00Z' },
    })
    expect(response.status).toBe(201)
    expect(response.body.id).toBe(1)
    expect(await query('SELECT deleted_at FROM products')).toEqual([{ deleted_at: null }])
    expect(new Date(response.body.created_at!).getFullYear()).toBeGreaterThan(2000)
  })

  test.each(roles(401, 403, 201, 201))('as %s → %d', async (who, status) => {
    const response = await call('POST', '/products', { as: as(who), body: { name: 'Drill', price: 1, stock: 1 } })
    expect(response.status).toBe(status)
    if (status === 401) {
      expect(response.body).toEqual(UNAUTHORIZED_BODY)
      expect(response.headers.get('www-authenticate')).toContain('Basic realm="inventory"')
    }
    if (status === 403) expect(response.body).toEqual(FORBIDDEN_BODY)
    expect(await count('products')).toBe(status === 201 ? 1 : 0)
  })

  test('a Bearer token works as well as Basic', async () => {
    const token = await tokenFor(users.manager)
    const response = await call('POST', '/products', { as: { token }, body: { name: 'Drill', price: 1, stock: 1 } })
    expect(response.status).toBe(201)
  })

  test('authentication and role come before validation', async () => {
    expect((await call('POST', '/products', { body: {} })).status).toBe(401)
    expect((await call('POST', '/products', { as: users.customer, body: {} })).status).toBe(403)
  })

  test.each([
    [{ price: 1, stock: 1 }, 'Product name is required.'],
    [{ name: 'Drill', stock: 1 }, 'Product price is required.'],
    [{ name: 'Drill', price: 1 }, 'Product stock is required.'],
    [{}, 'Product name is required.'],
    [{ name: 'Drill' }, 'Product price is required.'],
    [{ name: '  ', price: 1, stock: 1 }, 'Product name must not be empty.'],
    [{ name: 'x'.repeat(201), price: 1, stock: 1 }, 'Product name must be at most 200 characters long.'],
    [{ name: 7, price: 1, stock: 1 }, 'Product name must be a string.'],
    [{ name: 'Drill', description: 'd'.repeat(2001), price: 1, stock: 1 }, 'Product description must be at most 2000 characters long.'],
    [{ name: 'Drill', price: 0.1 + 0.2, stock: 1 }, 'Product price must have at most 2 decimal places.'],
    [{ name: 'Drill', price: 1.005, stock: 1 }, 'Product price must have at most 2 decimal places.'],
    [{ name: 'Drill', price: 19.999, stock: 1 }, 'Product price must have at most 2 decimal places.'],
    [{ name: 'Drill', price: -0.01, stock: 1 }, 'Product price must be at least 0.'],
    [{ name: 'Drill', price: 10_000_000_000, stock: 1 }, 'Product price must be at most 9999999999.99.'],
    [{ name: 'Drill', price: '19.99', stock: 1 }, 'Product price must be a number.'],
    [{ name: 'Drill', price: null, stock: 1 }, 'Product price must be a number.'],
    [{ name: 'Drill', price: 1, stock: -1 }, 'Product stock must be at least 0.'],
    [{ name: 'Drill', price: 1, stock_quantity: -1 }, 'Product stock must be at least 0.'],
    [{ name: 'Drill', price: 1, stock: 1.5 }, 'Product stock must be an integer.'],
    [{ name: 'Drill', price: 1, stock: '5' }, 'Product stock must be a number.'],
    [{ name: 'Drill', price: 1, stock: 1_000_000_001 }, 'Product stock must be at most 1000000000.'],
    [{ name: 'Drill', price: 1, stock: 1, low_stock_threshold: -1 }, 'Low-stock threshold must be at least 0.'],
    [{ name: 'Drill', price: 1, stock: 1, category_ids: 3 }, 'Category IDs must be an array.'],
    [{ name: 'Drill', price: 1, stock: 1, category_ids: [0] }, 'Each category ID must be at least 1.'],
    [{ name: 'Drill', price: 1, stock: 1, category_ids: ['1'] }, 'Each category ID must be a number.'], [{ name: 'Drill', price: 1, stock: 1, category_ids: [1.5] }, 'Each category ID must be an integer.'],
    [{ name: 'Drill', price: 1, stock: 1, category_ids: [1, 1] }, 'Category IDs must not contain duplicates.'],
    [{ name: 'Drill', price: 1, stock: 1, category_ids: Array.from({ length: 51 }, (_, i) => i + 1) }, 'Category IDs must contain at most 50 items.'],
  ])('invalid body %j → 400 %s; nothing written', async (body, message) => {
    const response = await call('POST', '/products', { as: users.manager, body })
    expect(response.status).toBe(400)
    expect(response.body).toEqual(invalid(message))
    expect(await count('products')).toBe(0)
    expect(await count('stock_movements')).toBe(0)
  })

  test('malformed JSON → 400', async () => {
    const response = await call('POST', '/products', { as: users.manager, body: '{"name": "Drill",' })
    expect(response.status).toBe(400)
    expect(response.body).toEqual(invalid('The request body is not valid JSON.'))
  })

  test('the submitted value is never echoed in a validation error', async () => {
    const response = await call('POST', '/products', { as: users.manager, body: { name: `<script>${'x'.repeat(300)}`, price: 1, stock: 1 } })
    expect(response.status).toBe(400)
    expect(response.text).not.toContain('<script>')
  })

  test('an unknown category → 404 naming the first missing id; nothing written', async () => {
    const tools = await insertCategory('Tools')
    const response = await call('POST', '/products', { as: users.manager, body: { name: 'Drill', price: 1, stock: 5, category_ids: [tools, 98, 99] } })
    expect(response.status).toBe(404)
    expect(response.body).toEqual({ error: 'Category not found', message: 'The category with ID 98 does not exist.' })
    expect(await count('products')).toBe(0)
    expect(await count('product_categories')).toBe(0)
    expect(await count('stock_movements')).toBe(0)
  })

  test.each([
    [0, '0.00'],
    [0.1, '0.10'],
    [0.2, '0.20'],
    [0.01, '0.01'],
    [19.99, '19.99'],
    [1234567.89, '1234567.89'],
    [9999999999.99, '9999999999.99'],
  ])('price %p round-trips exactly (stored as %s)', async (price, stored) => {
    const created = await call('POST', '/products', { as: users.manager, body: { name: 'Priced', price, stock: 1 } })
    expect(created.status).toBe(201)
    expect(created.text).toContain(`"price":${price}`)
    expect(created.body.price).toBe(price)
    expect(await query('SELECT price::text FROM products')).toEqual([{ price: stored }])
    const read = await call('GET', `/products/${created.body.id}`, { as: users.customer })
    expect(read.text).toContain(`"price":${price}`)
  })
})

describe('GET /products/{id}', () => {
  test.each(roles(401, 200, 200, 200))('as %s → %d', async (who, status) => {
    const product = await createProduct({ name: 'Drill', price: 19.99, stock: 4 })
    const response = await call('GET', `/products/${product.id}`, { as: as(who) })
    expect(response.status).toBe(status)
    expect(response.body).toEqual(status === 200 ? product : UNAUTHORIZED_BODY)
  })

  test('the exact product, with its categories sorted by id', async () => {
    const a = await insertCategory('A')
    const b = await insertCategory('B')
    const c = await insertCategory('C')
    const product = await createProduct({ name: 'Drill', description: 'x', price: 2.5, stock: 4, category_ids: [c, a] })
    await query('INSERT INTO product_categories (product_id, category_id) VALUES ($1, $2)', [product.id, b])
    const response = await call('GET', `/products/${product.id}`, { as: users.customer })
    expect(response.body).toEqual({
      id: product.id,
      sku: null,
      name: 'Drill',
      description: 'x',
      price: 2.5,
      stock: 4,
      low_stock_threshold: 10,
      categories: [
        { id: a, name: 'A' },
        { id: b, name: 'B' },
        { id: c, name: 'C' },
      ],
      created_at: product.created_at,
      updated_at: product.updated_at,
    })
  })

  test('unknown id → 404 with the exact body', async () => {
    const response = await call('GET', '/products/42', { as: users.customer })
    expect(response.status).toBe(404)
    expect(response.body).toEqual(productNotFound(42))
  })

  test.each(['abc', '0', '-1', '1.5', '1e3', '99999999999'])('bad id %s → 400', async (id) => {
    const response = await call('GET', `/products/${id}`, { as: users.customer })
    expect(response.status).toBe(400)
    expect(response.body).toEqual(invalid('Product ID must be a positive integer.'))
  })
})

describe('PUT /products/{id}', () => {
  test.each(roles(401, 403, 200, 200))('as %s → %d', async (who, status) => {
    const product = await createProduct({ name: 'Drill' })
    const response = await call('PUT', `/products/${product.id}`, { as: as(who), body: { name: 'Hammer' } })
    expect(response.status).toBe(status)
    if (status === 401) expect(response.body).toEqual(UNAUTHORIZED_BODY)
    if (status === 403) expect(response.body).toEqual(FORBIDDEN_BODY)
    const [row] = await query('SELECT name FROM products WHERE id = $1', [product.id])
    expect(row.name).toBe(status === 200 ? 'Hammer' : 'Drill')
  })

  test('a customer with an invalid body still gets 403', async () => {
    const product = await createProduct({ name: 'Drill' })
    expect((await call('PUT', `/products/${product.id}`, { as: users.customer, body: { stock: -5 } })).status).toBe(403)
  })

  test('updates only the fields sent; updated_at moves, created_at stays', async () => {
    const product = await createProduct({ name: 'Drill', description: 'Old.', price: 10, stock: 3, low_stock_threshold: 2 })
    await query("UPDATE products SET created_at = created_at - interval '1 day', updated_at = updated_at - interval '1 day'")
    const [before] = await query('SELECT created_at FROM products WHERE id = $1', [product.id])
    const response = await call('PUT', `/products/${product.id}`, { as: users.manager, body: { description: null, price: 0.2 } })
    expect(response.status).toBe(200)
    expect(response.body).toEqual({
      id: product.id,
      sku: null,
      name: 'Drill',
      description: null,
      price: 0.2,
      stock: 3,
      low_stock_threshold: 2,
      categories: [],
      created_at: before.created_at.toISOString(),
      updated_at: isoDate,
    })
    expect(Date.parse(response.body.updated_at!) - Date.parse(response.body.created_at!)).toBeGreaterThan(3_600_000)
    expect(await query('SELECT name, description, price::text, stock_quantity, low_stock_threshold FROM products')).toEqual([
      { name: 'Drill', description: null, price: '0.20', stock_quantity: 3, low_stock_threshold: 2 },
    ])
    expect(await movements(product.id)).toHaveLength(1)
  })

  test('an empty body changes nothing', async () => {
    const product = await createProduct({ name: 'Drill', stock: 3 })
    const response = await call('PUT', `/products/${product.id}`, { as: users.manager, body: {} })
    expect(response.status).toBe(200)
    expect(response.body).toEqual(product)
  })

  test('stock changes are recorded as adjustments by the caller; the stock always equals the sum of its movements', async () => {
    const product = await createProduct({ name: 'Drill', stock: 5, low_stock_threshold: 0 })
    const steps: Array<[Record<string, number>, number]> = [
      [{ stock: 12 }, 12],
      [{ stock: 2 }, 2],
      [{ stock_quantity: 8 }, 8],
      [{ stock: 0 }, 0],
      [{ stock: 4, stock_quantity: 100 }, 4],
    ]
    for (const [body, expected] of steps) {
      const response = await call('PUT', `/products/${product.id}`, { as: users.admin, body })
      expect(response.status).toBe(200)
      expect(response.body.stock).toBe(expected)
      expect(await stockAndLedger(product.id)).toEqual({ stock: expected, ledger: expected })
    }
    expect(await movements(product.id)).toEqual([
      { delta: 5, stock_after: 5, reason: 'initial', user_id: users.manager.id, order_id: null },
      { delta: 7, stock_after: 12, reason: 'adjustment', user_id: users.admin.id, order_id: null },
      { delta: -10, stock_after: 2, reason: 'adjustment', user_id: users.admin.id, order_id: null },
      { delta: 6, stock_after: 8, reason: 'adjustment', user_id: users.admin.id, order_id: null },
      { delta: -8, stock_after: 0, reason: 'adjustment', user_id: users.admin.id, order_id: null },
      { delta: 4, stock_after: 4, reason: 'adjustment', user_id: users.admin.id, order_id: null },
    ])
  })

  test('concurrent stock updates keep the stock equal to the sum of its movements', async () => {
    const product = await createProduct({ name: 'Drill', stock: 50, low_stock_threshold: 0 })
    const targets = Array.from({ length: 30 }, (_, i) => (i * 37) % 101)
    const responses = await Promise.all(
      targets.map((stock) => call('PUT', `/products/${product.id}`, { as: users.manager, body: { stock } })),
    )
    expect(responses.map((response) => response.status)).toEqual(targets.map(() => 200))
    const { stock, ledger } = await stockAndLedger(product.id)
    expect(ledger).toBe(stock)
    const [last] = await query('SELECT stock_after FROM stock_movements WHERE product_id = $1 ORDER BY id DESC LIMIT 1', [product.id])
    expect(last.stock_after).toBe(stock)
  })

  test('setting the same stock writes no movement', async () => {
    const product = await createProduct({ name: 'Drill', stock: 5 })
    const response = await call('PUT', `/products/${product.id}`, { as: users.manager, body: { stock: 5 } })
    expect(response.status).toBe(200)
    expect(await movements(product.id)).toHaveLength(1)
  })

  test.each([
    [{ stock: -1 }, 'Product stock must be at least 0.'],
    [{ stock_quantity: -3 }, 'Product stock must be at least 0.'],
    [{ name: 'Renamed', stock: -1 }, 'Product stock must be at least 0.'],
    [{ price: 0.1 + 0.2 }, 'Product price must have at most 2 decimal places.'],
    [{ name: null }, 'Product name must be a string.'],
    [{ name: '' }, 'Product name must not be empty.'],
    [{ category_ids: [2, 2] }, 'Category IDs must not contain duplicates.'],
  ])('invalid body %j → 400 %s; nothing changed', async (body, message) => {
    const product = await createProduct({ name: 'Drill', price: 3, stock: 5 })
    const response = await call('PUT', `/products/${product.id}`, { as: users.manager, body })
    expect(response.status).toBe(400)
    expect(response.body).toEqual(invalid(message))
    expect((await call('GET', `/products/${product.id}`, { as: users.manager })).body).toEqual(product)
    expect(await movements(product.id)).toHaveLength(1)
  })

  test('category_ids replaces the set; [] clears it', async () => {
    const a = await insertCategory('A')
    const b = await insertCategory('B')
    const c = await insertCategory('C')
    const product = await createProduct({ name: 'Drill', category_ids: [a, b] })
    const replaced = await call('PUT', `/products/${product.id}`, { as: users.manager, body: { category_ids: [c, b] } })
    expect(replaced.status).toBe(200)
    expect(replaced.body.categories).toEqual([
      { id: b, name: 'B' },
      { id: c, name: 'C' },
    ])
    expect(await query('SELECT category_id FROM product_categories ORDER BY category_id')).toEqual([{ category_id: b }, { category_id: c }])
    const cleared = await call('PUT', `/products/${product.id}`, { as: users.manager, body: { category_ids: [] } })
    expect(cleared.body.categories).toEqual([])
    expect(await count('product_categories')).toBe(0)
  })

  test('an unknown category → 404 and nothing of the update is written', async () => {
    const a = await insertCategory('A')
    const product = await createProduct({ name: 'Drill', stock: 5, category_ids: [a] })
    const response = await call('PUT', `/products/${product.id}`, {
      as: users.manager,
      body: { name: 'Renamed', stock: 1, category_ids: [a, 77] },
    })
    expect(response.status).toBe(404)
    expect(response.body).toEqual({ error: 'Category not found', message: 'The category with ID 77 does not exist.' })
    expect((await call('GET', `/products/${product.id}`, { as: users.manager })).body).toEqual(product)
    expect(await movements(product.id)).toHaveLength(1)
  })

  test('a stock update that crosses below the threshold records exactly one alert', async () => {
    const product = await createProduct({ name: 'Drill', stock: 12, low_stock_threshold: 10 })
    const put = (stock: number) => call('PUT', `/products/${product.id}`, { as: users.manager, body: { stock } })
    const alerts = () => query('SELECT product_id, stock, threshold, order_id FROM alerts ORDER BY id')

    expect((await put(10)).status).toBe(200)
    expect(await alerts()).toEqual([])
    expect((await put(5)).status).toBe(200)
    expect(await alerts()).toEqual([{ product_id: product.id, stock: 5, threshold: 10, order_id: null }])
    expect((await put(3)).status).toBe(200)
    expect((await put(9)).status).toBe(200)
    expect(await alerts()).toHaveLength(1)
    expect((await put(20)).status).toBe(200)
    expect((await put(0)).status).toBe(200)
    expect(await alerts()).toEqual([
      { product_id: product.id, stock: 5, threshold: 10, order_id: null },
      { product_id: product.id, stock: 0, threshold: 10, order_id: null },
    ])
  })

  test('a threshold sent with a stock change is the one the change is judged by', async () => {
    const product = await createProduct({ name: 'Drill', stock: 12, low_stock_threshold: 10 })
    const response = await call('PUT', `/products/${product.id}`, { as: users.manager, body: { stock: 5, low_stock_threshold: 3 } })
    expect(response.body).toMatchObject({ stock: 5, low_stock_threshold: 3 })
    expect(await count('alerts')).toBe(0)
  })

  test('unknown id → 404', async () => {
    const response = await call('PUT', '/products/42', { as: users.manager, body: { name: 'x' } })
    expect(response.status).toBe(404)
    expect(response.body).toEqual(productNotFound(42))
  })

  test('bad id → 400', async () => {
    const response = await call('PUT', '/products/abc', { as: users.manager, body: { name: 'x' } })
    expect(response.status).toBe(400)
    expect(response.body).toEqual(invalid('Product ID must be a positive integer.'))
  })
})

describe('DELETE /products/{id}', () => {
  test.each(roles(401, 403, 403, 204))('as %s → %d', async (who, status) => {
    const product = await createProduct({ name: 'Drill' })
    const response = await call('DELETE', `/products/${product.id}`, { as: as(who) })
    expect(response.status).toBe(status)
    if (status === 403) expect(response.body).toEqual(FORBIDDEN_BODY)
    if (status === 204) expect(response.text).toBe('')
    const [row] = await query('SELECT deleted_at FROM products WHERE id = $1', [product.id])
    expect(row.deleted_at === null).toBe(status !== 204)
  })

  test('soft delete: the product reads as 404 everywhere, its row and movements are kept', async () => {
    const a = await insertCategory('A')
    const product = await createProduct({ name: 'Drill', stock: 5, category_ids: [a] })
    const other = await createProduct({ name: 'Saw' })
    expect((await call('DELETE', `/products/${product.id}`, { as: users.admin })).status).toBe(204)

    for (const [method, path, body] of [
      ['GET', `/products/${product.id}`, undefined],
      ['PUT', `/products/${product.id}`, { stock: 1 }],
      ['DELETE', `/products/${product.id}`, undefined],
      ['GET', `/products/${product.id}/stock-movements`, undefined],
    ] as const) {
      const response = await call(method, path, { as: users.admin, body })
      expect(response.status).toBe(404)
      expect(response.body).toEqual(productNotFound(product.id))
    }
    const list = await call('GET', '/products', { as: users.admin })
    expect(list.body).toMatchObject({ total: 1, items: [{ id: other.id }] })
    const filtered = await call('GET', `/products?category_id=${a}`, { as: users.admin })
    expect(filtered.body).toEqual({ items: [], total: 0, limit: 20, offset: 0, total_exact: true, next_cursor: null })
    // Its category links go with it: a category's list counts its links alone.
    expect(await query('SELECT category_id FROM product_categories WHERE product_id = $1', [product.id])).toEqual([])
    expect(await query('SELECT name, stock_quantity FROM products WHERE id = $1 AND deleted_at IS NOT NULL', [product.id])).toEqual([
      { name: 'Drill', stock_quantity: 5 },
    ])
    expect(await movements(product.id)).toHaveLength(1)
  })

  test('unknown id → 404', async () => {
    const response = await call('DELETE', '/products/42', { as: users.admin })
    expect(response.status).toBe(404)
    expect(response.body).toEqual(productNotFound(42))
  })
})

describe('GET /products', () => {
  const ids = (response: TestResponse) => response.body.items!.map((item) => item.id)
  const list = (qs: string) => call('GET', `/products${qs}`, { as: users.customer })

  test.each(roles(401, 200, 200, 200))('as %s → %d', async (who, status) => {
    const response = await call('GET', '/products', { as: as(who) })
    expect(response.status).toBe(status)
    expect(response.body).toEqual(status === 200 ? { items: [], total: 0, limit: 20, offset: 0, total_exact: true, next_cursor: null } : UNAUTHORIZED_BODY)
  })

  test('the envelope with full items, by id, default limit 20 and offset 0', async () => {
    const a = await insertCategory('A')
    const first = await createProduct({ name: 'Drill', price: 19.99, stock: 3, category_ids: [a] })
    const second = await createProduct({ name: 'Axe', price: 0.1 })
    const response = await list('')
    expect(response.status).toBe(200)
    expect(response.body).toEqual({ items: [first, second], total: 2, limit: 20, offset: 0, total_exact: true, next_cursor: null })
  })

  test('pagination: limit, offset, a page past the end keeps the total', async () => {
    for (let i = 0; i < 5; i++) await createProduct({ name: `P${i}` })
    expect(await list('?limit=2&offset=1').then((r) => [ids(r), r.body.total, r.body.limit, r.body.offset])).toEqual([[2, 3], 5, 2, 1])
    expect((await list('?limit=100')).body.items).toHaveLength(5)
    expect((await list('?offset=4')).body).toMatchObject({ total: 5, items: [{ id: 5 }] })
    expect((await list('?offset=9')).body).toEqual({ items: [], total: 5, limit: 20, offset: 9, total_exact: true, next_cursor: null })
  })

  test.each([
    ['limit=0', 'Query parameter limit must be an integer between 1 and 100.'],
    ['limit=101', 'Query parameter limit must be an integer between 1 and 100.'],
    ['limit=abc', 'Query parameter limit must be an integer between 1 and 100.'],
    ['offset=-1', 'Query parameter offset must be an integer between 0 and 10000.'],
    ['category_id=0', 'Query parameter category_id must be an integer between 1 and 2147483647.'],
    ['category_id=abc', 'Query parameter category_id must be an integer between 1 and 2147483647.'],
    ['min_price=-1', 'Query parameter min_price must be a number between 0 and 9999999999.99 with at most 2 decimal places.'],
    ['min_price=0.001', 'Query parameter min_price must be a number between 0 and 9999999999.99 with at most 2 decimal places.'],
    ['max_price=1e3', 'Query parameter max_price must be a number between 0 and 9999999999.99 with at most 2 decimal places.'],
    ['max_price=', 'Query parameter max_price must be a number between 0 and 9999999999.99 with at most 2 decimal places.'],
    ['in_stock=yes', 'Query parameter in_stock must be one of: true, false.'],
    ['low_stock=1', 'Query parameter low_stock must be one of: true, false.'],
    ['sort=id', 'Query parameter sort must be one of: name, -name, price, -price, stock, -stock, created_at, -created_at.'],
    ['sort=+price', 'Query parameter sort must be one of: name, -name, price, -price, stock, -stock, created_at, -created_at.'],
    [`q=${'q'.repeat(201)}`, 'Query parameter q must be at most 200 characters long.'],
  ])('?%s → 400', async (qs, message) => {
    const response = await list(`?${qs}`)
    expect(response.status).toBe(400)
    expect(response.body).toEqual(invalid(message))
  })

  test('q searches name and description, case-insensitively', async () => {
    const drill = await createProduct({ name: 'Cordless DRILL' })
    const bits = await createProduct({ name: 'Bits', description: 'For any drill.' })
    await createProduct({ name: 'Saw', description: 'Sharp.' })
    expect(ids(await list('?q=drill'))).toEqual([drill.id, bits.id])
    expect((await list('?q=drill')).body.total).toBe(2)
    expect(ids(await list('?q=SHARP'))).toEqual([3])
    expect(ids(await list('?q=nothing'))).toEqual([])
  })

  test('q treats %, _ and \\ as plain characters', async () => {
    const percent = await createProduct({ name: '100% cotton' })
    await createProduct({ name: '100 cotton' })
    const underscore = await createProduct({ name: 'a_b' })
    await createProduct({ name: 'axb' })
    const backslash = await createProduct({ name: 'C:\\temp' })
    expect(ids(await list(`?q=${encodeURIComponent('%')}`))).toEqual([percent.id])
    expect(ids(await list('?q=_'))).toEqual([underscore.id])
    expect(ids(await list(`?q=${encodeURIComponent('\\')}`))).toEqual([backslash.id])
  })

  test('category_id keeps the products linked to that category; an unknown one gives an empty page', async () => {
    const tools = await insertCategory('Tools')
    const garden = await insertCategory('Garden')
    const drill = await createProduct({ name: 'Drill', category_ids: [tools] })
    const rake = await createProduct({ name: 'Rake', category_ids: [garden] })
    const both = await createProduct({ name: 'Gloves', category_ids: [garden, tools] })
    await createProduct({ name: 'Loose' })
    expect(ids(await list(`?category_id=${tools}`))).toEqual([drill.id, both.id])
    expect(ids(await list(`?category_id=${garden}`))).toEqual([rake.id, both.id])
    expect((await list(`?category_id=${garden}`)).body.items![1]!.categories).toEqual([
      { id: tools, name: 'Tools' },
      { id: garden, name: 'Garden' },
    ])
    expect((await list('?category_id=999')).body).toEqual({ items: [], total: 0, limit: 20, offset: 0, total_exact: true, next_cursor: null })
  })

  test('prices compare exactly: 0.1 and 0.2 against 0.3', async () => {
    const dime = await createProduct({ name: 'Dime', price: 0.1 })
    const twenty = await createProduct({ name: 'Twenty', price: 0.2 })
    const thirty = await createProduct({ name: 'Thirty', price: 0.3 })
    expect(ids(await list('?min_price=0.3'))).toEqual([thirty.id])
    expect(ids(await list('?max_price=0.3'))).toEqual([dime.id, twenty.id, thirty.id])
    expect(ids(await list('?max_price=0.29'))).toEqual([dime.id, twenty.id])
    expect(ids(await list('?min_price=0.1&max_price=0.2'))).toEqual([dime.id, twenty.id])
    expect(ids(await list('?min_price=0.2&max_price=0.1'))).toEqual([])
    expect(await query('SELECT sum(price)::text AS sum FROM products WHERE id IN ($1, $2)', [dime.id, twenty.id])).toEqual([{ sum: '0.30' }])
    expect((await list('?min_price=0.3')).text).toContain('"price":0.3,')
  })

  test('in_stock and low_stock', async () => {
    const empty = await createProduct({ name: 'Empty', stock: 0, low_stock_threshold: 0 })
    const low = await createProduct({ name: 'Low', stock: 2, low_stock_threshold: 5 })
    const plenty = await createProduct({ name: 'Plenty', stock: 50, low_stock_threshold: 5 })
    const edge = await createProduct({ name: 'Edge', stock: 5, low_stock_threshold: 5 })
    expect(ids(await list('?in_stock=true'))).toEqual([low.id, plenty.id, edge.id])
    expect(ids(await list('?in_stock=false'))).toEqual([empty.id])
    expect(ids(await list('?low_stock=true'))).toEqual([low.id])
    expect(ids(await list('?low_stock=false'))).toEqual([empty.id, plenty.id, edge.id])
    expect(ids(await list('?in_stock=true&low_stock=false&max_price=1'))).toEqual([plenty.id, edge.id])
  })

  describe('sort', () => {
    let p: Record<'a' | 'b' | 'c' | 'd', number>
    beforeEach(async () => {
      // id order a, b, c, d; ties on every field are broken by id.
      p = {
        a: (await createProduct({ name: 'bolt', price: 5, stock: 3 })).id,
        b: (await createProduct({ name: 'anchor', price: 1, stock: 3 })).id,
        c: (await createProduct({ name: 'clamp', price: 5, stock: 0 })).id,
        d: (await createProduct({ name: 'anchor', price: 9.99, stock: 7 })).id,
      }
      await query("UPDATE products SET created_at = timestamptz '2026-01-01' + (CASE id WHEN $1 THEN 2 WHEN $2 THEN 1 WHEN $3 THEN 2 ELSE 0 END) * interval '1 hour'", [
        p.a,
        p.b,
        p.c,
      ])
    })

    test.each([
      ['', ['a', 'b', 'c', 'd']],
      ['name', ['b', 'd', 'a', 'c']],
      ['-name', ['c', 'a', 'b', 'd']],
      ['price', ['b', 'a', 'c', 'd']],
      ['-price', ['d', 'a', 'c', 'b']],
      ['stock', ['c', 'a', 'b', 'd']],
      ['-stock', ['d', 'a', 'b', 'c']],
      ['created_at', ['d', 'b', 'a', 'c']],
      ['-created_at', ['a', 'c', 'b', 'd']],
    ] as const)('sort=%s', async (sort, expected) => {
      const response = await list(sort ? `?sort=${sort}` : '')
      expect(ids(response)).toEqual(expected.map((key) => p[key]))
    })

    test('sorting is applied before the page is cut', async () => {
      expect(ids(await list('?sort=-price&limit=2&offset=1'))).toEqual([p.a, p.c])
    })
  })
})

describe('GET /products/{id}/stock-movements', () => {
  test.each(roles(401, 403, 200, 200))('as %s → %d', async (who, status) => {
    const product = await createProduct({ name: 'Drill', stock: 2 })
    const response = await call('GET', `/products/${product.id}/stock-movements`, { as: as(who) })
    expect(response.status).toBe(status)
    if (status === 401) expect(response.body).toEqual(UNAUTHORIZED_BODY)
    if (status === 403) expect(response.body).toEqual(FORBIDDEN_BODY)
  })

  test('the ledger, newest first, paginated', async () => {
    const product = await createProduct({ name: 'Drill', stock: 5, low_stock_threshold: 0 })
    await createProduct({ name: 'Other', stock: 9 })
    await call('PUT', `/products/${product.id}`, { as: users.admin, body: { stock: 8 } })
    await call('PUT', `/products/${product.id}`, { as: users.manager, body: { stock: 1 } })
    const movement = (id: number, delta: number, stock_after: number, reason: 'initial' | 'adjustment' | 'order', user_id: number) => ({
      id,
      product_id: product.id,
      delta,
      stock_after,
      reason,
      note: null,
      user_id,
      order_id: null,
      created_at: isoDate,
    })
    const response = await call('GET', `/products/${product.id}/stock-movements`, { as: users.manager })
    expect(response.status).toBe(200)
    expect(response.body).toEqual({
      items: [movement(4, -7, 1, 'adjustment', users.manager.id), movement(3, 3, 8, 'adjustment', users.admin.id), movement(1, 5, 5, 'initial', users.manager.id)],
      total: 3,
      total_exact: true,
      limit: 20,
      offset: 0,
      next_cursor: null,
    })
    const page = await call('GET', `/products/${product.id}/stock-movements?limit=1&offset=1`, { as: users.admin })
    expect(page.body).toEqual({ items: [movement(3, 3, 8, 'adjustment', users.admin.id)], total: 3, limit: 1, offset: 1, total_exact: true, next_cursor: expect.any(String) })
  })

  test('unknown product → 404; bad id and bad paging → 400', async () => {
    const missing = await call('GET', '/products/42/stock-movements', { as: users.manager })
    expect(missing.status).toBe(404)
    expect(missing.body).toEqual(productNotFound(42))
    const badId = await call('GET', '/products/x/stock-movements', { as: users.manager })
    expect(badId.body).toEqual(invalid('Product ID must be a positive integer.'))
    const product = await createProduct({ name: 'Drill' })
    const badLimit = await call('GET', `/products/${product.id}/stock-movements?limit=101`, { as: users.manager })
    expect(badLimit.status).toBe(400)
    expect(badLimit.body).toEqual(invalid('Query parameter limit must be an integer between 1 and 100.'))
  })

  test('a product with no movements yet has an empty ledger, not a 404', async () => {
    const [{ id }] = (await query<{ id: number }>(`INSERT INTO products (name, price, stock_quantity, low_stock_threshold) VALUES ('Unstocked', 1, 0, 10) RETURNING id`)) as [{ id: number }]
    const response = await call('GET', `/products/${id}/stock-movements`, { as: users.manager })
    expect([response.status, response.body]).toEqual([200, { items: [], total: 0, total_exact: true, limit: 20, offset: 0, next_cursor: null }])
  })
})

describe('OpenAPI document', () => {
  test('every product route has its tag, summary, description, parameters and success schema', async () => {
    const { paths } = (await call<OpenApiDocument>('GET', '/swagger/json')).body
    const routes = [
      ['/products', 'post', '201'],
      ['/products', 'get', '200'],
      ['/products/{id}', 'get', '200'],
      ['/products/{id}', 'put', '200'],
      ['/products/{id}', 'delete', undefined],
      ['/products/{id}/stock-movements', 'get', '200'],
    ] as const
    for (const [path, method, success] of routes) {
      const operation = paths[path][method]
      expect(operation).toMatchObject({ tags: ['Products'], summary: expect.any(String), description: expect.any(String) })
      if (success) expect(operation.responses[success].content['application/json'].schema.type).toBe('object')
      if (path.includes('{id}')) expect(operation.parameters).toContainEqual(expect.objectContaining({ name: 'id', in: 'path', required: true }))
    }
    expect(paths['/products'].get.parameters.map((parameter: { name: string }) => parameter.name)).toEqual([
      'limit',
      'offset',
      'cursor',
      'sku',
      'q',
      'category_id',
      'min_price',
      'max_price',
      'in_stock',
      'low_stock',
      'sort',
    ])
  })
})
