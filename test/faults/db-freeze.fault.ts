/**
 * Fault: PostgreSQL freezes (SIGSTOP to the postmaster and all its processes) while the server is
 * under a steady load, as a hung host or a network partition would leave it: connections stay
 * open, nothing answers, and the server's own statement_timeout cannot fire.
 *
 * While frozen, every request must end within the pool wait plus the statement timeout (plus the
 * client's small margin and scheduling slack) with the generic 500, readiness must answer 503
 * within 2 s, liveness must stay fast, and the user-change listener must notice and bypass the auth
 * caches. After SIGCONT the server must serve again by itself, and every acknowledged order must be
 * in the database with the stock equal to its movements.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { CLIENT_TIMEOUT_MARGIN_MS } from '../../src/db/bounded-client'
import {
  ApiProcess,
  checkOrderInvariants,
  errorBodyProblem,
  FaultDatabase,
  GENERIC_500,
  listenerSessions,
  ok,
  placeOnce,
  seedCustomers,
  seedProduct,
  send,
  settle,
  SteadyLoad,
  waitFor,
  type Customer,
  type LogicalOrder,
  type Outcome,
} from './harness'

const POOL_SIZE = 4
const POOL_TIMEOUT_MS = 1000
const STATEMENT_TIMEOUT_MS = 2000
const CLIENT_MARGIN_MS = CLIENT_TIMEOUT_MARGIN_MS // the client waits this much longer than the server would
const SLACK_MS = 1500 // scheduling on a shared 2-core machine; the bounds themselves are the env values
const REQUEST_BOUND_MS = POOL_TIMEOUT_MS + STATEMENT_TIMEOUT_MS + CLIENT_MARGIN_MS + SLACK_MS
const READINESS_BOUND_MS = 2000
// The listener checks every 5 s with a 2 s deadline: a freeze this long is always noticed.
const FREEZE_MS = 9000
const RECOVERY_LIMIT_MS = 5000
const INITIAL_STOCK = 100_000

let db: FaultDatabase
let api: ApiProcess
let customers: Customer[]
let productId: number

beforeAll(async () => {
  db = await FaultDatabase.create('freeze')
  api = await ApiProcess.start(db, {
    DATABASE_POOL_SIZE: String(POOL_SIZE),
    DATABASE_POOL_TIMEOUT_MS: String(POOL_TIMEOUT_MS),
    DATABASE_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
  })
  customers = await seedCustomers(db, 4)
  productId = await seedProduct(db, 'Frozen Flange', INITIAL_STOCK)
  await waitFor('the user-change listener', 10_000, async () => ((await listenerSessions(db)) === 1 ? true : undefined))
}, 60_000)

afterAll(async () => {
  await api?.stop()
  await db?.destroy()
}, 30_000)

const fmt = (outcomes: Outcome[]) => {
  const ms = outcomes.map((o) => Math.round(o.ms)).sort((a, b) => a - b)
  return `${outcomes.length} (${ms[0]}–${ms.at(-1)} ms)`
}

test('PostgreSQL frozen under load: bounded generic 500s, readiness 503 within 2 s, recovery after SIGCONT, no acknowledged order lost', async () => {
  const pid = api.pid
  const load = new SteadyLoad([api.url], customers, productId)
  const probes: Outcome[] = []
  const liveness: Outcome[] = []
  let frozenAt = 0
  let thawedAt = 0
  let recoveredAt = 0
  let listenerNoticedMs: number | undefined
  try {
    const before = performance.now()
    await waitFor('a successful order before the freeze', 10_000, async () =>
      load.since(before).some((s) => s.op === 'order' && s.outcome.reply?.status === 201) ? true : undefined,
    )
    const frozenPids = db.freeze()
    frozenAt = performance.now()
    expect(frozenPids.length).toBeGreaterThan(POOL_SIZE / 2) // the backends, not only the postmaster

    // While frozen: readiness (sequential probes, as a load balancer sends them) and liveness.
    while (performance.now() - frozenAt < FREEZE_MS) {
      const [probe, live] = await Promise.all([
        send(api.url, 'GET', '/health/ready', { timeoutMs: 10_000 }),
        send(api.url, 'GET', '/health', { timeoutMs: 10_000 }),
      ])
      probes.push(probe)
      liveness.push(live)
      if (listenerNoticedMs === undefined && api.output.some((line) => line.includes('user-change listener disconnected'))) {
        listenerNoticedMs = performance.now() - frozenAt
      }
      await Bun.sleep(200)
    }
    db.thaw()
    thawedAt = performance.now()

    // Recovery without a restart: readiness, a read and an order succeed.
    let n = 0
    await waitFor('service recovery after SIGCONT', 15_000, async () => {
      const [readiness, read] = await Promise.all([
        send(api.url, 'GET', '/health/ready', { timeoutMs: 5000 }),
        send(api.url, 'GET', `/products/${productId}`, { authorization: customers[1]!.authorization, timeoutMs: 5000 }),
      ])
      if (!ok(readiness) || !ok(read)) return undefined
      const order: LogicalOrder = { key: `probe-${n++}-${crypto.randomUUID().slice(0, 8)}`, customer: customers[0]!, body: { product_id: productId, quantity: 1 }, attempts: [] }
      load.orders.push(order)
      return ok(await placeOnce(api.url, order, { timeoutMs: 5000 })) ? true : undefined
    }, 25)
    recoveredAt = performance.now()
    await waitFor('the user-change listener to reconnect', 10_000, async () => ((await listenerSessions(db)) === 1 ? true : undefined))
    await waitFor('load requests after recovery', 10_000, async () => (load.since(recoveredAt).length >= 12 ? true : undefined))
  } finally {
    await load.stop()
  }
  expect(api.running).toBe(true)
  expect(api.pid).toBe(pid)

  // Every request sent or in flight while frozen ended within the bound, as the generic 500 or a success
  // (a request already answered from the caches needs no database).
  const duringFreeze = load.samples.filter((s) => s.outcome.at + s.outcome.ms >= frozenAt && s.outcome.at < thawedAt)
  const failedDuringFreeze = duringFreeze.filter((s) => !ok(s.outcome))
  expect(failedDuringFreeze.length).toBeGreaterThan(0)
  for (const { outcome } of duringFreeze) {
    expect(outcome.reply).toBeDefined() // never a cut connection or a client timeout
    expect(outcome.ms).toBeLessThan(REQUEST_BOUND_MS)
    if (!ok(outcome)) expect(outcome.reply?.body).toEqual(GENERIC_500)
  }
  for (const { outcome } of load.samples) if (outcome.reply) expect(errorBodyProblem(outcome.reply)).toBeUndefined()

  // Readiness said 503 in time throughout (the first probe included); liveness stayed fast.
  expect(probes.length).toBeGreaterThan(3)
  for (const probe of probes) {
    expect(probe.reply?.status).toBe(503)
    expect(probe.reply?.body).toEqual({ error: 'Service Unavailable', message: 'The database is not reachable.' })
    expect(probe.ms).toBeLessThan(READINESS_BOUND_MS)
  }
  for (const live of liveness) {
    expect(live.reply?.status).toBe(200)
    expect(live.ms).toBeLessThan(500)
  }
  expect(listenerNoticedMs).toBeDefined()

  // After recovery everything sent succeeds.
  expect(load.since(recoveredAt).filter((s) => !ok(s.outcome)).map((s) => s.outcome.reply?.text ?? s.outcome.error)).toEqual([])

  const unknown = load.orders.filter((order) => order.attempts.at(-1)?.reply?.status !== 201).length
  const retried = await settle(api.url, load.orders, { timeoutMs: 20_000 })
  const result = await checkOrderInvariants(db, productId, INITIAL_STOCK, load.orders)
  const replayed = load.orders.filter((order) => order.attempts.length > 1 && order.attempts.at(-1)!.reply?.headers.get('idempotent-replayed') === 'true').length
  const { ledger } = result
  console.info(
    [
      `database frozen for ${FREEZE_MS} ms under load: pool ${POOL_SIZE}, pool wait ${POOL_TIMEOUT_MS} ms, statement timeout ${STATEMENT_TIMEOUT_MS} ms (+${CLIENT_MARGIN_MS} ms on the client)`,
      `  requests in flight or sent while frozen: ${duringFreeze.length}, failed with the generic 500: ${fmt(failedDuringFreeze.map((s) => s.outcome))}; bound ${REQUEST_BOUND_MS} ms`,
      `  /health/ready: ${probes.length} × 503 in ${fmt(probes)}; /health: ${liveness.length} × 200 in ${fmt(liveness)}`,
      `  the user-change listener noticed the freeze after ${Math.round(listenerNoticedMs ?? -1)} ms (caches bypassed)`,
      `  served again ${Math.round(recoveredAt - thawedAt)} ms after SIGCONT (limit ${RECOVERY_LIMIT_MS} ms)`,
      `  orders with a 500: ${unknown}, retried with the same key: ${retried} (${replayed} replayed); acknowledged ${result.acknowledged}, found ${result.found}`,
      `  initial stock ${INITIAL_STOCK} = stock ${ledger.stock} + ordered ${ledger.ordered}; movements sum ${ledger.movements}`,
      `  logged: ${[...api.loggedErrors].map(([message, { count, withRequestId }]) => `${count}× (${withRequestId} with id) ${message}`).join('; ')}`,
    ].join('\n'),
  )
  expect(recoveredAt - thawedAt).toBeLessThan(RECOVERY_LIMIT_MS)
  expect(result.problems).toEqual([])
  expect(result.acknowledged).toBe(load.orders.length)
}, 120_000)
