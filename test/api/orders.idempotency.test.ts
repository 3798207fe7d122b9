import { beforeEach, describe, expect, test } from 'bun:test'
import { dataSource } from '../../src/db/data-source'
import { insertProduct, stockOf } from '../support/fixtures'
import { call, query, resetDatabase, type Seeded } from '../support/helpers'

let users: Seeded
let productId: number
beforeEach(async () => {
  users = await resetDatabase()
  productId = await insertProduct({ name: 'Lamp', stock: 10, threshold: 0 })
})

const order = (key: string | undefined, body: unknown = { product_id: productId, quantity: 2 }, who: keyof Seeded = 'customer') =>
  call('POST', '/orders', { as: users[who], body, headers: key === undefined ? {} : { 'idempotency-key': key } })

const orderCount = async () => (await query('SELECT count(*)::int AS n FROM orders'))[0].n

describe('Idempotency-Key on POST /orders', () => {
  test('a repeat with the same key and body replays the first response and creates nothing', async () => {
    const first = await order('key-1')
    expect(first.status).toBe(201)
    expect(first.headers.get('idempotent-replayed')).toBeNull()
    const repeat = await order('key-1')
    expect(repeat.status).toBe(201)
    expect(repeat.body).toEqual(first.body)
    expect(repeat.headers.get('idempotent-replayed')).toBe('true')
    expect(await orderCount()).toBe(1)
    expect(await stockOf(productId)).toEqual({ stock: 8, ledger: 8 })
  })

  test('the same key with a different body → 409, nothing created', async () => {
    await order('key-1')
    const other = await order('key-1', { product_id: productId, quantity: 3 })
    expect(other.status).toBe(409)
    expect(other.body).toEqual({ error: 'Conflict', message: 'This Idempotency-Key was already used with a different request.' })
    expect(await orderCount()).toBe(1)
    expect(await stockOf(productId)).toEqual({ stock: 8, ledger: 8 })
  })

  test('keys are scoped per user', async () => {
    expect((await order('shared-key', undefined, 'customer')).status).toBe(201)
    const other = await order('shared-key', undefined, 'other')
    expect(other.status).toBe(201)
    expect(other.headers.get('idempotent-replayed')).toBeNull()
    expect(await orderCount()).toBe(2)
  })

  test('without a key, identical requests are separate orders', async () => {
    await order(undefined)
    await order(undefined)
    expect(await orderCount()).toBe(2)
  })

  test('a repeat while the first is still in flight → 409, and the first still completes', async () => {
    // Hold the product row so the first request stops inside its transaction, key claimed.
    const blocker = dataSource.createQueryRunner()
    await blocker.connect()
    await blocker.startTransaction()
    await blocker.query('SELECT 1 FROM products WHERE id = $1 FOR UPDATE', [productId])
    const first = order('slow-key')
    try {
      // Wait until the first request holds the key (its advisory lock) and is stuck on the row.
      const keyClaimed = async () =>
        (await query("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted")).length > 0
      for (let i = 0; i < 250 && !(await keyClaimed()); i++) await Bun.sleep(10)
      const repeat = await order('slow-key')
      expect(repeat.status).toBe(409)
      expect(repeat.body).toEqual({ error: 'Conflict', message: 'A request with this Idempotency-Key is still in progress.' })
    } finally {
      await blocker.rollbackTransaction()
      await blocker.release()
    }
    expect((await first).status).toBe(201)
    expect((await order('slow-key')).headers.get('idempotent-replayed')).toBe('true')
    expect(await orderCount()).toBe(1)
  })

  test('a failed order stores nothing: the retry runs afresh', async () => {
    const tooMany = await order('retry-key', { product_id: productId, quantity: 11 })
    expect(tooMany.status).toBe(400)
    expect(tooMany.body.error).toBe('Insufficient stock')
    expect(await query('SELECT 1 FROM idempotency_keys')).toHaveLength(0)
    await query(`UPDATE products SET stock_quantity = 20 WHERE id = $1`, [productId])
    await query(`INSERT INTO stock_movements (product_id, delta, stock_after, reason) VALUES ($1, 10, 20, 'adjustment')`, [productId])
    const retry = await order('retry-key', { product_id: productId, quantity: 11 })
    expect(retry.status).toBe(201)
    expect(retry.headers.get('idempotent-replayed')).toBeNull()
  })

  test('keys expire after 24 hours', async () => {
    await order('old-key')
    await query(`UPDATE idempotency_keys SET created_at = now() - interval '25 hours'`)
    const again = await order('old-key')
    expect(again.status).toBe(201)
    expect(again.headers.get('idempotent-replayed')).toBeNull()
    expect(await orderCount()).toBe(2)
  })

  test.each([
    ['', 'Idempotency-Key header must not be empty.'],
    ['k'.repeat(256), 'Idempotency-Key header must be at most 255 characters long.'],
  ])('an invalid key (%#) → 400, nothing created', async (key, message) => {
    const response = await order(key)
    expect(response.status).toBe(400)
    expect(response.body).toEqual({ error: 'Invalid input', message })
    expect(await orderCount()).toBe(0)
  })

  test('the key is stored in the same transaction as the order', async () => {
    const response = await order('stored-key')
    const [row] = await query('SELECT user_id, status_code, response_body FROM idempotency_keys WHERE key = $1', ['stored-key'])
    expect(row).toEqual({ user_id: users.customer.id, status_code: 201, response_body: response.body })
  })
})
