import { beforeEach, describe, expect, test } from 'bun:test'
import { insertProduct } from '../support/fixtures'
import { call, query, resetDatabase, type Seeded } from '../support/helpers'

let users: Seeded
beforeEach(async () => {
  users = await resetDatabase()
})

const isoDate = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)

async function order(productId: number, quantity: number) {
  const response = await call('POST', '/orders', { as: users.customer, body: { product_id: productId, quantity } })
  if (response.status !== 201) throw new Error(`order failed: ${response.text}`)
  return response.body as { id: number }
}

describe('GET /alerts', () => {
  test.each([
    ['anonymous', undefined, 401, 'Unauthorized'],
    ['customer', 'customer', 403, 'Forbidden'],
    ['manager', 'manager', 200, undefined],
    ['admin', 'admin', 200, undefined],
  ] as const)('as %s → %d', async (_, who, status, error) => {
    const response = await call('GET', '/alerts', { as: who ? users[who] : undefined })
    expect(response.status).toBe(status)
    if (error) expect(response.body.error).toBe(error)
    else expect(response.body).toEqual({ items: [], total: 0, limit: 20, offset: 0, total_exact: true, next_cursor: null })
  })

  test('lists the crossings caused by orders, newest first, with the product name', async () => {
    const widget = await insertProduct({ name: 'Widget', stock: 15, threshold: 10 })
    const gadget = await insertProduct({ name: 'Gadget', stock: 5, threshold: 3 })
    const first = await order(widget, 6) // 15 → 9: crosses 10
    await order(widget, 1) // 9 → 8: already below
    const second = await order(gadget, 3) // 5 → 2: crosses 3
    const response = await call('GET', '/alerts', { as: users.manager })
    expect(response.status).toBe(200)
    expect(response.body).toEqual({
      items: [
        { id: 2, product_id: gadget, product_name: 'Gadget', stock: 2, threshold: 3, order_id: second.id, created_at: isoDate },
        { id: 1, product_id: widget, product_name: 'Widget', stock: 9, threshold: 10, order_id: first.id, created_at: isoDate },
      ],
      total: 2,
      total_exact: true,
      limit: 20,
      offset: 0,
      next_cursor: null,
    })
  })

  test('no alert while the stock stays at or above the threshold, nor for a product already below it', async () => {
    const atThreshold = await insertProduct({ stock: 11, threshold: 10 })
    const alreadyLow = await insertProduct({ stock: 5, threshold: 10 })
    await order(atThreshold, 1) // 11 → 10: not below
    await order(alreadyLow, 1) // 5 → 4: was already below
    expect((await call('GET', '/alerts', { as: users.admin })).body.total).toBe(0)
  })

  test('a product that is restocked and crosses again gets a second alert', async () => {
    const productId = await insertProduct({ stock: 10, threshold: 10 })
    await order(productId, 1) // 10 → 9
    await query(
      `WITH p AS (UPDATE products SET stock_quantity = stock_quantity + 5 WHERE id = $1 RETURNING stock_quantity)
       INSERT INTO stock_movements (product_id, delta, stock_after, reason) SELECT $1, 5, stock_quantity, 'adjustment' FROM p`,
      [productId],
    ) // 14, back above
    await order(productId, 5) // 14 → 9
    const response = await call('GET', '/alerts', { as: users.admin })
    expect(response.body.items!.map((alert) => alert.stock)).toEqual([9, 9])
  })

  test('alerts of a deleted product are kept, with its name', async () => {
    const productId = await insertProduct({ name: 'Discontinued', stock: 10, threshold: 10 })
    await order(productId, 1)
    await query('UPDATE products SET deleted_at = now() WHERE id = $1', [productId])
    const response = await call('GET', '/alerts', { as: users.manager })
    expect(response.body.items).toEqual([expect.objectContaining({ product_id: productId, product_name: 'Discontinued', stock: 9 })])
  })

  test('limit and offset page through the alerts', async () => {
    for (let i = 0; i < 3; i++) await order(await insertProduct({ name: `P${i}`, stock: 10, threshold: 10 }), 1)
    const response = await call('GET', '/alerts?limit=1&offset=1', { as: users.admin })
    expect(response.body).toEqual({
      items: [expect.objectContaining({ id: 2, product_name: 'P1' })],
      total: 3,
      total_exact: true,
      limit: 1,
      offset: 1,
      next_cursor: expect.any(String),
    })
  })

  test.each([
    ['limit=0', 'Query parameter limit must be an integer between 1 and 100.'],
    ['limit=1000', 'Query parameter limit must be an integer between 1 and 100.'],
    ['offset=-5', 'Query parameter offset must be an integer between 0 and 10000.'],
  ])('?%s → 400', async (qs, message) => {
    const response = await call('GET', `/alerts?${qs}`, { as: users.manager })
    expect(response.status).toBe(400)
    expect(response.body).toEqual({ error: 'Invalid input', message })
  })
})
