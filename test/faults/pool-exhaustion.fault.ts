/**
 * Fault: a slow database with more concurrent requests than pool connections.
 *
 * The server runs with a pool of 2 connections, a pool wait of 1.5 s and a statement timeout of
 * 3 s. A separate connection holds the product's row lock (as a long transaction would), so the
 * orders that get a connection stall on it and the pool runs dry. Requests queued for a connection
 * must fail after the pool wait, the stalled ones after the statement timeout, all with the generic
 * 500, none hanging; once the lock is gone the service must serve normally at once. A short
 * slowness (under the pool wait) must instead be absorbed: the queued requests wait and succeed.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import {
  ApiProcess,
  checkOrderInvariants,
  errorBodyProblem,
  FaultDatabase,
  GENERIC_500,
  lockProduct,
  placeOnce,
  seedCustomers,
  seedProduct,
  send,
  settle,
  stalledSessions,
  waitFor,
  type Customer,
  type LogicalOrder,
  type Outcome,
} from './harness'

const POOL_SIZE = 2
const POOL_TIMEOUT_MS = 1500
const STATEMENT_TIMEOUT_MS = 3000
const INITIAL_STOCK = 1000
const SLACK_MS = 1500 // scheduling on a shared 2-core machine; the bounds themselves are the env values

let db: FaultDatabase
let api: ApiProcess
let customers: Customer[]
let productId: number
const orders: LogicalOrder[] = []

beforeAll(async () => {
  db = await FaultDatabase.create('pool')
  api = await ApiProcess.start(db, {
    DATABASE_POOL_SIZE: String(POOL_SIZE),
    DATABASE_POOL_TIMEOUT_MS: String(POOL_TIMEOUT_MS),
    DATABASE_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
  })
  customers = await seedCustomers(db, 4)
  productId = await seedProduct(db, 'Slow Sprocket', INITIAL_STOCK)
  // Warm the auth caches, so that what waits for the pool below is the request's own work.
  for (const customer of customers) {
    const warm = await send(api.url, 'GET', `/products/${productId}`, { authorization: customer.authorization })
    if (warm.reply?.status !== 200) throw new Error(`warm-up failed: ${warm.reply?.text ?? warm.error}`)
  }
}, 60_000)

afterAll(async () => {
  await api?.stop()
  await db?.destroy()
}, 30_000)

function newOrders(count: number, label: string): LogicalOrder[] {
  const created = Array.from({ length: count }, (_, i) => ({
    key: `${label}-${i}-${crypto.randomUUID().slice(0, 8)}`,
    customer: customers[i % customers.length]!,
    body: { product_id: productId, quantity: 1 },
    attempts: [],
  }))
  orders.push(...created)
  return created
}

const fmt = (outcomes: Outcome[]) => outcomes.map((o) => `${o.reply?.status ?? o.error}@${Math.round(o.ms)}ms`).join(' ')

test('pool exhausted by a slow database: bounded waits, generic 500, then normal service', async () => {
  // 1. Pool dry: 8 orders for the locked row; POOL_SIZE of them stall on the lock, the rest queue.
  const locker = await lockProduct(db, productId)
  const exhausted = newOrders(8, 'exhausted')
  const ordering = Promise.all(exhausted.map((order) => placeOnce(api.url, order, { timeoutMs: 20_000 })))
  await waitFor('the pool connections to stall on the row lock', 5000, async () => ((await stalledSessions(db)) === POOL_SIZE ? true : undefined), 20)
  // Then requests that need no lock at all, but do need a connection.
  const [reads, readiness, liveness] = await Promise.all([
    Promise.all(customers.slice(0, 3).map((c) => send(api.url, 'GET', `/products/${productId}`, { authorization: c.authorization, timeoutMs: 20_000 }))),
    send(api.url, 'GET', '/health/ready', { timeoutMs: 20_000 }),
    send(api.url, 'GET', '/health', { timeoutMs: 20_000 }),
  ])
  const placed = await ordering
  await locker.release()

  // Nothing hung; every failure is the generic 500 (readiness: 503), after a bounded wait.
  for (const outcome of [...placed, ...reads]) {
    expect(outcome.reply?.status).toBe(500)
    expect(outcome.reply?.body).toEqual(GENERIC_500)
    expect(errorBodyProblem(outcome.reply!)).toBeUndefined()
  }
  const byTime = [...placed].sort((a, b) => a.ms - b.ms)
  const queued = byTime.slice(0, byTime.length - POOL_SIZE)
  const stalledOrders = byTime.slice(byTime.length - POOL_SIZE)
  for (const outcome of [...queued, ...reads]) {
    expect(outcome.ms).toBeGreaterThanOrEqual(POOL_TIMEOUT_MS * 0.9)
    expect(outcome.ms).toBeLessThan(POOL_TIMEOUT_MS + SLACK_MS)
  }
  for (const outcome of stalledOrders) {
    expect(outcome.ms).toBeGreaterThanOrEqual(STATEMENT_TIMEOUT_MS * 0.9)
    expect(outcome.ms).toBeLessThan(STATEMENT_TIMEOUT_MS + SLACK_MS)
  }
  expect(readiness.reply?.status).toBe(503)
  expect(readiness.ms).toBeLessThan(POOL_TIMEOUT_MS + SLACK_MS)
  // The process itself stays responsive: liveness needs no connection, so it does not queue.
  expect(liveness.reply?.status).toBe(200)
  expect(liveness.ms).toBeLessThan(POOL_TIMEOUT_MS)

  // 2. The slowness is over: a burst of 5 × POOL_SIZE orders is served at once, no error.
  const recoveryStart = performance.now()
  const burst = newOrders(5 * POOL_SIZE, 'after')
  const served = await Promise.all(burst.map((order) => placeOnce(api.url, order, { timeoutMs: 10_000 })))
  const recoveryMs = performance.now() - recoveryStart
  expect(served.map((o) => o.reply?.status)).toEqual(burst.map(() => 201))
  expect((await send(api.url, 'GET', '/health/ready')).reply?.status).toBe(200)

  // 3. A slowness shorter than the pool wait is absorbed: queued requests wait, then succeed.
  const shortLock = await lockProduct(db, productId)
  const patient = newOrders(6, 'patient')
  const waiting = Promise.all(patient.map((order) => placeOnce(api.url, order, { timeoutMs: 10_000 })))
  await waitFor('the pool connections to stall again', 5000, async () => ((await stalledSessions(db)) === POOL_SIZE ? true : undefined), 20)
  const heldFrom = performance.now()
  await Bun.sleep(300) // the injected slowness itself, well under the 1.5 s pool wait
  await shortLock.release()
  const heldMs = performance.now() - heldFrom
  const absorbed = await waiting
  expect(absorbed.map((o) => o.reply?.status)).toEqual(patient.map(() => 201))
  expect(Math.max(...absorbed.map((o) => o.ms))).toBeGreaterThanOrEqual(heldMs * 0.9)

  // Every failed order is retried with its key: each ends as exactly one order.
  const failed = orders.filter((order) => order.attempts.at(-1)?.reply?.status !== 201).length
  const retried = await settle(api.url, orders, { timeoutMs: 20_000 })
  const result = await checkOrderInvariants(db, productId, INITIAL_STOCK, orders)
  const { ledger } = result

  console.info(
    [
      `pool exhaustion: pool ${POOL_SIZE}, pool wait ${POOL_TIMEOUT_MS} ms, statement timeout ${STATEMENT_TIMEOUT_MS} ms, row lock held by another connection`,
      `  8 orders: ${POOL_SIZE} stalled on the lock → generic 500 after ${fmt(stalledOrders)}; ${queued.length} queued → generic 500 after ${fmt(queued)}`,
      `  3 unrelated reads → ${fmt(reads)}; /health/ready → ${fmt([readiness])}; /health → ${fmt([liveness])}`,
      `  after the lock: ${burst.length} concurrent orders → all 201 in ${Math.round(recoveryMs)} ms`,
      `  lock held ${Math.round(heldMs)} ms (< pool wait): 6 orders → ${fmt(absorbed)}`,
      `  failed orders ${failed}, retried with the same key ${retried}; acknowledged ${result.acknowledged}, orders found ${result.found}`,
      `  initial stock ${INITIAL_STOCK} = stock ${ledger.stock} + ordered ${ledger.ordered}; movements sum ${ledger.movements}`,
    ].join('\n'),
  )
  expect(result.problems).toEqual([])
  expect(result.acknowledged).toBe(orders.length)
  expect(api.running).toBe(true)
}, 60_000)
