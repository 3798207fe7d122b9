/**
 * Orders under real concurrency: many clients over real sockets against one product, then the
 * invariants are checked in the database (never oversold, never negative, ledger = stock,
 * one alert per crossing, truthful "Insufficient stock" numbers).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { insertProduct, stockOf } from '../support/fixtures'
import { app, call, query, resetDatabase, tokenFor } from '../support/helpers'

const CUSTOMERS = 8
const INSUFFICIENT = /^There are only (\d+) units of (.+) in stock, but you requested (\d+)\.$/

let server: ReturnType<typeof Bun.serve>
let inFlight = 0
let maxInFlight = 0

beforeAll(() => {
  // Counts requests inside the app at once, to prove the storms really overlap on the server.
  server = Bun.serve({
    port: 0,
    async fetch(request) {
      maxInFlight = Math.max(maxInFlight, ++inFlight)
      try {
        return await app.handle(request)
      } finally {
        inFlight--
      }
    },
  })
})

afterAll(() => server.stop(true))

/** Authorization headers of several customers, half Basic and half Bearer. */
let clients: string[]
beforeEach(async () => {
  await resetDatabase()
  clients = []
  for (let i = 0; i < CUSTOMERS; i++) {
    const user = { username: `buyer${i}`, password: `buyer-password-${i}` }
    const created = await call('POST', '/users', { body: user })
    if (created.status !== 201) throw new Error(`could not create ${user.username}: ${created.text}`)
    clients.push(
      i % 2 === 0
        ? `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`
        : `Bearer ${await tokenFor({ ...user, id: created.body.id!, role: 'customer' })}`,
    )
  }
  maxInFlight = 0
})

interface Outcome {
  quantity: number
  status: number
  body: { error?: string; message?: string; id?: number }
}

/** Sends every order at once, spread over the customers, and waits for all the answers. */
function storm(productId: number, quantities: number[]): Promise<Outcome[]> {
  return Promise.all(
    quantities.map(async (quantity, i) => {
      const response = await fetch(new URL('/orders', server.url), {
        method: 'POST',
        headers: { authorization: clients[i % CUSTOMERS]!, 'content-type': 'application/json' },
        body: JSON.stringify({ product_id: productId, quantity }),
      })
      return { quantity, status: response.status, body: (await response.json()) as Outcome['body'] }
    }),
  )
}

const accepted = (outcomes: Outcome[]) => outcomes.filter((o) => o.status === 201)
const refused = (outcomes: Outcome[]) => outcomes.filter((o) => o.status === 400)
const sum = (numbers: number[]) => numbers.reduce((a, b) => a + b, 0)

/** The numbers an "Insufficient stock" message states, checked against the product's name. */
function statedNumbers(outcome: Outcome, productName: string) {
  expect(outcome.body.error).toBe('Insufficient stock')
  const match = INSUFFICIENT.exec(outcome.body.message ?? '')
  expect(match?.[2]).toBe(productName)
  return { available: Number(match![1]), requested: Number(match![3]) }
}

async function ordersOf(productId: number) {
  const [row] = await query<{ count: number; quantity: number }>(
    'SELECT count(*)::int AS count, coalesce(sum(quantity), 0)::int AS quantity FROM orders WHERE product_id = $1',
    [productId],
  )
  return row!
}

describe('concurrent orders over real sockets', () => {
  test('the storm: 150 orders of 1 for a stock of 25 → exactly 25 × 201, the rest 400 Insufficient stock', async () => {
    const productId = await insertProduct({ name: 'Storm Lantern', stock: 25, threshold: 0 })
    const started = performance.now()
    const outcomes = await storm(productId, Array(150).fill(1))
    const elapsed = performance.now() - started

    expect(outcomes.filter((o) => o.status >= 500)).toEqual([])
    expect(accepted(outcomes)).toHaveLength(25)
    expect(refused(outcomes)).toHaveLength(125)
    for (const outcome of refused(outcomes)) {
      expect(outcome.body).toEqual({
        error: 'Insufficient stock',
        message: 'There are only 0 units of Storm Lantern in stock, but you requested 1.',
      })
    }
    expect(await stockOf(productId)).toEqual({ stock: 0, ledger: 0 })
    expect(await ordersOf(productId)).toEqual({ count: 25, quantity: 25 })
    // Each sale saw a distinct stock level: the row lock serialised them, none read a stale value.
    const levels = await query<{ stock_after: number }>(
      "SELECT stock_after FROM stock_movements WHERE product_id = $1 AND reason = 'order' ORDER BY stock_after",
      [productId],
    )
    expect(levels.map((l) => l.stock_after)).toEqual(Array.from({ length: 25 }, (_, i) => i))
    expect(maxInFlight).toBeGreaterThanOrEqual(20)
    console.info(`storm: 150 requests, 25 × 201, 125 × 400, ${Math.round(elapsed)} ms, ${maxInFlight} in flight at most`)
  })

  test('random quantities: initial stock = final stock + everything sold, and the orders table agrees', async () => {
    const initial = 100 // below even the smallest possible demand (120 × 1): some orders must be refused
    const productId = await insertProduct({ name: 'Random Widget', stock: initial, threshold: 0 })
    const quantities = Array.from({ length: 120 }, () => 1 + Math.floor(Math.random() * 5))
    const outcomes = await storm(productId, quantities)

    expect(outcomes.filter((o) => o.status !== 201 && o.status !== 400)).toEqual([])
    const sold = sum(accepted(outcomes).map((o) => o.quantity))
    const { stock, ledger } = await stockOf(productId)
    expect(initial).toBe(stock + sold)
    expect(ledger).toBe(stock)
    expect(await ordersOf(productId)).toEqual({ count: accepted(outcomes).length, quantity: sold })
    // Nothing was refused while it could still have been served.
    expect(refused(outcomes).length).toBeGreaterThan(0)
    for (const outcome of refused(outcomes)) expect(stock).toBeLessThan(outcome.quantity)
  })

  test('one crossing of the threshold records exactly one alert', async () => {
    const productId = await insertProduct({ name: 'Alarm Clock', stock: 30, threshold: 10 })
    const outcomes = await storm(productId, Array(40).fill(1))

    expect(accepted(outcomes)).toHaveLength(30)
    expect(refused(outcomes)).toHaveLength(10)
    const alerts = await query('SELECT product_id, stock, threshold, order_id FROM alerts')
    const [crossing] = await query<{ order_id: number }>(
      'SELECT order_id FROM stock_movements WHERE product_id = $1 AND stock_after = 9',
      [productId],
    )
    expect(alerts).toEqual([{ product_id: productId, stock: 9, threshold: 10, order_id: crossing!.order_id }])
  })

  test('one crossing with mixed quantities still records exactly one alert, at the order that crossed', async () => {
    const productId = await insertProduct({ name: 'Jumbo Pack', stock: 100, threshold: 40 })
    await storm(productId, Array.from({ length: 60 }, (_, i) => 1 + (i % 5))) // 180 units asked for 100

    const alerts = await query<{ stock: number; order_id: number }>('SELECT stock, order_id FROM alerts WHERE product_id = $1', [productId])
    expect(alerts).toHaveLength(1)
    const [movement] = await query<{ delta: number; stock_after: number }>(
      'SELECT delta, stock_after FROM stock_movements WHERE order_id = $1',
      [alerts[0]!.order_id],
    )
    expect(movement!.stock_after).toBe(alerts[0]!.stock)
    expect(movement!.stock_after).toBeLessThan(40)
    expect(movement!.stock_after - movement!.delta).toBeGreaterThanOrEqual(40)
  })

  test('"Insufficient stock" states the real name and numbers under concurrency: available < requested', async () => {
    const productId = await insertProduct({ name: 'Gizmo Deluxe', stock: 40, threshold: 0 })
    const quantities = Array.from({ length: 80 }, (_, i) => 1 + (i % 8))
    const outcomes = await storm(productId, quantities)

    const { stock } = await stockOf(productId)
    expect(refused(outcomes).length).toBeGreaterThan(0)
    for (const outcome of refused(outcomes)) {
      const { available, requested } = statedNumbers(outcome, 'Gizmo Deluxe')
      expect(requested).toBe(outcome.quantity)
      expect(available).toBeLessThan(requested)
      // Stock only went down during the storm: what was stated lies between the start and the end.
      expect(available).toBeGreaterThanOrEqual(stock)
      expect(available).toBeLessThanOrEqual(40)
    }
    expect(40 - sum(accepted(outcomes).map((o) => o.quantity))).toBe(stock)
  })
})
