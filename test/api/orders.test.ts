import { afterEach, beforeEach, describe, expect, mock, spyOn, test } from 'bun:test'
import { log } from '../../src/http/logger'
import { insertProduct, stockOf } from '../support/fixtures'
import { call, query, resetDatabase, tokenFor, type Seeded } from '../support/helpers'
import type { ApiBody } from '../support/body'

let users: Seeded
beforeEach(async () => {
  users = await resetDatabase()
})

const isoDate = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
const INVALID_STATUS = { error: 'Invalid status', message: "Order status must be either 'Pending' or 'Completed'." }
const FORBIDDEN = { error: 'Forbidden', message: 'You do not have permission to perform this action.' }

type Who = keyof Seeded

async function placeOrder(who: Who, productId: number, quantity = 1) {
  const response = await call('POST', '/orders', { as: users[who], body: { product_id: productId, quantity } })
  if (response.status !== 201) throw new Error(`order failed: ${response.text}`)
  return response.body
}

const orderCount = async () => (await query('SELECT 1 FROM orders')).length
const movementCount = async () => (await query('SELECT 1 FROM stock_movements')).length

describe('POST /orders', () => {
  test('takes the stock and returns the Pending order; the movement is recorded', async () => {
    const productId = await insertProduct({ stock: 20 })
    const response = await call('POST', '/orders', { as: users.customer, body: { product_id: productId, quantity: 3 } })
    expect(response.status).toBe(201)
    expect(response.body).toEqual({
      id: expect.any(Number),
      product_id: productId,
      user_id: users.customer.id,
      quantity: 3,
      status: 'Pending',
      created_at: isoDate,
      updated_at: isoDate,
    })
    expect(await stockOf(productId)).toEqual({ stock: 17, ledger: 17 })
    const [order] = await query('SELECT product_id, user_id, quantity, status FROM orders WHERE id = $1', [response.body.id])
    expect(order).toEqual({ product_id: productId, user_id: users.customer.id, quantity: 3, status: 'Pending' })
    const movements = await query("SELECT delta, stock_after, user_id, order_id FROM stock_movements WHERE reason = 'order'")
    expect(movements).toEqual([{ delta: -3, stock_after: 17, user_id: users.customer.id, order_id: response.body.id }])
  })

  test.each(['customer', 'manager', 'admin'] as const)('a %s may order', async (who) => {
    const productId = await insertProduct({ stock: 20 })
    const response = await call('POST', '/orders', { as: users[who], body: { product_id: productId, quantity: 1 } })
    expect(response.status).toBe(201)
    expect(response.body.user_id).toBe(users[who].id)
  })

  test('anonymous → 401 with the Basic challenge, and nothing is taken', async () => {
    const productId = await insertProduct({ stock: 20 })
    const response = await call('POST', '/orders', { body: { product_id: productId, quantity: 1 } })
    expect(response.status).toBe(401)
    expect(response.body).toEqual({
      error: 'Unauthorized',
      message: 'Authentication is required: send Basic credentials or a Bearer token.',
    })
    expect(response.headers.get('www-authenticate')).toContain('Basic realm="inventory"')
    expect(await stockOf(productId)).toEqual({ stock: 20, ledger: 20 })
    expect(await orderCount()).toBe(0)
  })

  test('a Bearer token works as well as Basic', async () => {
    const productId = await insertProduct({ stock: 20 })
    const token = await tokenFor(users.customer)
    const response = await call('POST', '/orders', { as: { token }, body: { product_id: productId, quantity: 2 } })
    expect(response.status).toBe(201)
    expect(response.body.user_id).toBe(users.customer.id)
  })

  test('fields a client must not set are ignored, never bound', async () => {
    const productId = await insertProduct({ stock: 20 })
    const response = await call('POST', '/orders', {
      as: users.customer,
      body: {
        product_id: productId,
        quantity: 2,
        id: 999,
        status: 'Completed',
        user_id: users.other.id,
        price: 0,
        created_at: '2000-01-01T00:00:00Z',
      },
    })
    expect(response.status).toBe(201)
    expect(response.body).toMatchObject({ quantity: 2, status: 'Pending', user_id: users.customer.id })
    expect(response.body.id).not.toBe(999)
    const [order] = await query('SELECT id, status, user_id, created_at FROM orders')
    expect(order).toMatchObject({ id: response.body.id, status: 'Pending', user_id: users.customer.id })
    expect(new Date(order.created_at).getFullYear()).toBeGreaterThan(2000)
  })

  test('ordering the whole stock is allowed and leaves 0', async () => {
    const productId = await insertProduct({ stock: 5 })
    expect((await call('POST', '/orders', { as: users.customer, body: { product_id: productId, quantity: 5 } })).status).toBe(201)
    expect(await stockOf(productId)).toEqual({ stock: 0, ledger: 0 })
  })

  test('more than in stock → 400 Insufficient stock with the real name and numbers; nothing is written', async () => {
    const productId = await insertProduct({ name: 'Product A', stock: 5 })
    const response = await call('POST', '/orders', { as: users.customer, body: { product_id: productId, quantity: 10 } })
    expect(response.status).toBe(400)
    expect(response.body).toEqual({
      error: 'Insufficient stock',
      message: 'There are only 5 units of Product A in stock, but you requested 10.',
    })
    expect(await stockOf(productId)).toEqual({ stock: 5, ledger: 5 })
    expect(await orderCount()).toBe(0)
    expect(await movementCount()).toBe(1)
    expect(await query('SELECT 1 FROM alerts')).toHaveLength(0)
  })

  test('an out-of-stock product says 0 units', async () => {
    const productId = await insertProduct({ name: 'Blue Widget', stock: 0 })
    const response = await call('POST', '/orders', { as: users.customer, body: { product_id: productId, quantity: 1 } })
    expect(response.status).toBe(400)
    expect(response.body).toEqual({
      error: 'Insufficient stock',
      message: 'There are only 0 units of Blue Widget in stock, but you requested 1.',
    })
  })

  test('unknown product → 404 Product not found', async () => {
    const response = await call('POST', '/orders', { as: users.customer, body: { product_id: 42, quantity: 1 } })
    expect(response.status).toBe(404)
    expect(response.body).toEqual({ error: 'Product not found', message: 'The product with ID 42 does not exist.' })
    expect(await orderCount()).toBe(0)
  })

  test('a deleted product → 404 Product not found, its stock untouched', async () => {
    const productId = await insertProduct({ stock: 20 })
    await query('UPDATE products SET deleted_at = now() WHERE id = $1', [productId])
    const response = await call('POST', '/orders', { as: users.customer, body: { product_id: productId, quantity: 1 } })
    expect(response.status).toBe(404)
    expect(response.body).toEqual({ error: 'Product not found', message: `The product with ID ${productId} does not exist.` })
    expect(await stockOf(productId)).toEqual({ stock: 20, ledger: 20 })
    expect(await orderCount()).toBe(0)
  })

  test.each([
    [{ quantity: 1 }, 'Order product_id is required.'],
    [{ product_id: 1 }, 'Order quantity is required.'],
    [{}, 'Order product_id is required.'],
    [{ product_id: 1, quantity: 0 }, 'Order quantity must be at least 1.'],
    [{ product_id: 1, quantity: -3 }, 'Order quantity must be at least 1.'],
    [{ product_id: 1, quantity: 10_001 }, 'Order quantity must be at most 10000.'],
    [{ product_id: 1, quantity: 1.5 }, 'Order quantity must be an integer.'],
    [{ product_id: 1, quantity: '2' }, 'Order quantity must be a number.'],
    [{ product_id: 1, quantity: null }, 'Order quantity must be a number.'],
    [{ product_id: 0, quantity: 1 }, 'Order product_id must be at least 1.'],
    [{ product_id: 'abc', quantity: 1 }, 'Order product_id must be a number.'],
    [{ product_id: 2_147_483_648, quantity: 1 }, 'Order product_id must be at most 2147483647.'],
    [[1, 2], 'The request body must be a JSON object.'],
  ])('invalid body %j → 400 %s', async (body, message) => {
    const productId = await insertProduct({ stock: 20 }) // id 1: ids restart with every reset
    const response = await call('POST', '/orders', { as: users.customer, body })
    expect(response.status).toBe(400)
    expect(response.body).toEqual({ error: 'Invalid input', message })
    expect(await stockOf(productId)).toEqual({ stock: 20, ledger: 20 })
    expect(await orderCount()).toBe(0)
  })

  test('no body → 400, malformed JSON → 400', async () => {
    const noBody = await call('POST', '/orders', { as: users.customer })
    expect(noBody.status).toBe(400)
    expect(noBody.body).toEqual({ error: 'Invalid input', message: 'The request body must be a JSON object.' })
    const malformed = await call('POST', '/orders', { as: users.customer, body: '{"product_id": 1,' })
    expect(malformed.status).toBe(400)
    expect(malformed.body).toEqual({ error: 'Invalid input', message: 'The request body is not valid JSON.' })
  })
})

describe('low-stock alerts from orders', () => {
  afterEach(() => {
    mock.restore()
  })

  test('crossing below the threshold records one alert and logs one warning', async () => {
    const warn = spyOn(log, 'warn')
    const productId = await insertProduct({ stock: 12, threshold: 10 })
    await placeOrder('customer', productId, 2) // 10: at the threshold, not below
    expect(await query('SELECT 1 FROM alerts')).toHaveLength(0)
    const crossing = await placeOrder('customer', productId, 1) // 9: crosses
    await placeOrder('customer', productId, 1) // 8: already below, no new alert
    const alerts = await query('SELECT product_id, stock, threshold, order_id FROM alerts')
    expect(alerts).toEqual([{ product_id: productId, stock: 9, threshold: 10, order_id: crossing.id }])
    expect(warn).toHaveBeenCalledTimes(1)
    expect(warn).toHaveBeenCalledWith('low stock', { alert_id: expect.any(Number), product_id: productId, stock: 9, threshold: 10 })
  })

  test('a refused order records no alert', async () => {
    const productId = await insertProduct({ stock: 12, threshold: 10 })
    const response = await call('POST', '/orders', { as: users.customer, body: { product_id: productId, quantity: 13 } })
    expect(response.status).toBe(400)
    expect(await query('SELECT 1 FROM alerts')).toHaveLength(0)
  })
})

describe('GET /orders', () => {
  test('a customer sees only their own orders, newest first', async () => {
    const productId = await insertProduct({ stock: 50 })
    const first = await placeOrder('customer', productId, 1)
    await placeOrder('other', productId, 2)
    const third = await placeOrder('customer', productId, 3)
    const response = await call('GET', '/orders', { as: users.customer })
    expect(response.status).toBe(200)
    expect(response.body).toEqual({ items: [third, first], total: 2, limit: 20, offset: 0, total_exact: true, next_cursor: null })
  })

  test('a customer without orders gets an empty page', async () => {
    const productId = await insertProduct({ stock: 50 })
    await placeOrder('other', productId, 2)
    const response = await call('GET', '/orders', { as: users.customer })
    expect(response.body).toEqual({ items: [], total: 0, limit: 20, offset: 0, total_exact: true, next_cursor: null })
  })

  test.each(['manager', 'admin'] as const)('a %s sees every order', async (who) => {
    const productId = await insertProduct({ stock: 50 })
    const first = await placeOrder('customer', productId, 1)
    const second = await placeOrder('other', productId, 2)
    const response = await call('GET', '/orders', { as: users[who] })
    expect(response.status).toBe(200)
    expect(response.body).toEqual({ items: [second, first], total: 2, limit: 20, offset: 0, total_exact: true, next_cursor: null })
  })

  test('limit and offset page through the orders', async () => {
    const productId = await insertProduct({ stock: 50 })
    const placed = []
    for (let i = 0; i < 5; i++) placed.push(await placeOrder('customer', productId, 1))
    const response = await call('GET', '/orders?limit=2&offset=1', { as: users.admin })
    expect(response.body).toEqual({ items: [placed[3]!, placed[2]!], total: 5, limit: 2, offset: 1, total_exact: true, next_cursor: expect.any(String) })
  })

  test('anonymous → 401', async () => {
    const response = await call('GET', '/orders')
    expect(response.status).toBe(401)
    expect(response.body.error).toBe('Unauthorized')
  })

  test.each([
    ['limit=0', 'Query parameter limit must be an integer between 1 and 100.'],
    ['limit=101', 'Query parameter limit must be an integer between 1 and 100.'],
    ['offset=x', 'Query parameter offset must be an integer between 0 and 10000.'],
  ])('?%s → 400', async (qs, message) => {
    const response = await call('GET', `/orders?${qs}`, { as: users.customer })
    expect(response.status).toBe(400)
    expect(response.body).toEqual({ error: 'Invalid input', message })
  })
})

describe('GET /orders/{id}', () => {
  test('a customer reads their own order', async () => {
    const productId = await insertProduct({ stock: 50 })
    const order = await placeOrder('customer', productId, 4)
    const response = await call('GET', `/orders/${order.id}`, { as: users.customer })
    expect(response.status).toBe(200)
    expect(response.body).toEqual(order)
  })

  test("another customer's order reads as 404", async () => {
    const productId = await insertProduct({ stock: 50 })
    const order = await placeOrder('other', productId, 1)
    const response = await call('GET', `/orders/${order.id}`, { as: users.customer })
    expect(response.status).toBe(404)
    expect(response.body).toEqual({ error: 'Order not found', message: `The order with ID ${order.id} does not exist.` })
  })

  test.each(['manager', 'admin'] as const)("a %s reads anyone's order", async (who) => {
    const productId = await insertProduct({ stock: 50 })
    const order = await placeOrder('customer', productId, 1)
    const response = await call('GET', `/orders/${order.id}`, { as: users[who] })
    expect(response.status).toBe(200)
    expect(response.body).toEqual(order)
  })

  test('an order survives the deletion of its product', async () => {
    const productId = await insertProduct({ stock: 50 })
    const order = await placeOrder('customer', productId, 1)
    await query('UPDATE products SET deleted_at = now() WHERE id = $1', [productId])
    const response = await call('GET', `/orders/${order.id}`, { as: users.customer })
    expect(response.status).toBe(200)
    expect(response.body).toEqual(order)
  })

  test('unknown id → 404 with the exact body', async () => {
    const response = await call('GET', '/orders/42', { as: users.admin })
    expect(response.status).toBe(404)
    expect(response.body).toEqual({ error: 'Order not found', message: 'The order with ID 42 does not exist.' })
  })

  test('anonymous → 401', async () => {
    expect((await call('GET', '/orders/1')).status).toBe(401)
  })

  test.each(['abc', '0', '-1', '1.5', '1e3', '99999999999'])('bad id %s → 400', async (id) => {
    const response = await call('GET', `/orders/${id}`, { as: users.admin })
    expect(response.status).toBe(400)
    expect(response.body).toEqual({ error: 'Invalid input', message: 'Order ID must be a positive integer.' })
  })
})

describe('PUT /orders/{id}/status', () => {
  let productId: number
  let order: ApiBody
  beforeEach(async () => {
    productId = await insertProduct({ stock: 50 })
    order = await placeOrder('customer', productId, 2)
  })

  const statusOf = async (id: number) => (await query('SELECT status FROM orders WHERE id = $1', [id]))[0]?.status

  test.each(['manager', 'admin'] as const)('a %s completes an order', async (who) => {
    const response = await call('PUT', `/orders/${order.id}/status`, { as: users[who], body: { status: 'Completed' } })
    expect(response.status).toBe(200)
    expect(response.body).toEqual({ ...order, status: 'Completed', updated_at: isoDate })
    const [row] = await query('SELECT status, updated_at > created_at AS touched FROM orders WHERE id = $1', [order.id])
    expect(row).toEqual({ status: 'Completed', touched: true })
  })

  test('a completed order may go back to Pending; the stock is not touched', async () => {
    await call('PUT', `/orders/${order.id}/status`, { as: users.manager, body: { status: 'Completed' } })
    const response = await call('PUT', `/orders/${order.id}/status`, { as: users.manager, body: { status: 'Pending' } })
    expect(response.status).toBe(200)
    expect(response.body.status).toBe('Pending')
    expect(await stockOf(productId)).toEqual({ stock: 48, ledger: 48 })
  })

  test('setting the current status again changes nothing, updated_at included', async () => {
    const response = await call('PUT', `/orders/${order.id}/status`, { as: users.manager, body: { status: 'Pending' } })
    expect(response.status).toBe(200)
    expect(response.body).toEqual(order)
  })

  test('other fields are ignored', async () => {
    const response = await call('PUT', `/orders/${order.id}/status`, {
      as: users.manager,
      body: { status: 'Completed', quantity: 50, user_id: users.other.id },
    })
    expect(response.status).toBe(200)
    expect(response.body).toMatchObject({ status: 'Completed', quantity: 2, user_id: users.customer.id })
  })

  test('a customer → 403, even for their own order and even with an invalid status', async () => {
    for (const body of [{ status: 'Completed' }, { status: 'Shipped' }]) {
      const response = await call('PUT', `/orders/${order.id}/status`, { as: users.customer, body })
      expect(response.status).toBe(403)
      expect(response.body).toEqual(FORBIDDEN)
    }
    expect(await statusOf(order.id!)).toBe('Pending')
  })

  test('anonymous → 401, even with an invalid status', async () => {
    const response = await call('PUT', `/orders/${order.id}/status`, { body: { status: 'Shipped' } })
    expect(response.status).toBe(401)
    expect(response.body.error).toBe('Unauthorized')
  })

  test.each([
    ['completed', { status: 'completed' }],
    ['PENDING', { status: 'PENDING' }],
    ['Shipped', { status: 'Shipped' }],
    ['empty string', { status: '' }],
    ['padded', { status: ' Completed ' }],
    ['a number', { status: 1 }],
    ['null', { status: null }],
    ['true', { status: true }],
    ['an array', { status: ['Completed'] }],
    ['missing', {}],
    ['another field instead', { state: 'Completed' }],
    ['a bare JSON string body', '"Completed"'],
    ['a JSON null body', 'null'],
  ])('status %s → 400 Invalid status', async (_, body) => {
    const response = await call('PUT', `/orders/${order.id}/status`, { as: users.manager, body })
    expect(response.status).toBe(400)
    expect(response.body).toEqual(INVALID_STATUS)
    expect(await statusOf(order.id!)).toBe('Pending')
  })

  test('no body → 400 Invalid status; malformed JSON → 400 Invalid input', async () => {
    const noBody = await call('PUT', `/orders/${order.id}/status`, { as: users.manager })
    expect(noBody.status).toBe(400)
    expect(noBody.body).toEqual(INVALID_STATUS)
    const malformed = await call('PUT', `/orders/${order.id}/status`, { as: users.manager, body: '{"status":' })
    expect(malformed.status).toBe(400)
    expect(malformed.body).toEqual({ error: 'Invalid input', message: 'The request body is not valid JSON.' })
  })

  test('unknown order → 404 Order not found', async () => {
    const response = await call('PUT', '/orders/42/status', { as: users.admin, body: { status: 'Completed' } })
    expect(response.status).toBe(404)
    expect(response.body).toEqual({ error: 'Order not found', message: 'The order with ID 42 does not exist.' })
  })

  test.each(['abc', '0', '1.5'])('bad id %s → 400 Invalid input', async (id) => {
    const response = await call('PUT', `/orders/${id}/status`, { as: users.admin, body: { status: 'Completed' } })
    expect(response.status).toBe(400)
    expect(response.body).toEqual({ error: 'Invalid input', message: 'Order ID must be a positive integer.' })
  })
})
