/**
 * Fault: PostgreSQL restarts while the server is under a steady load, first with a "fast"
 * shutdown (SIGINT: sessions terminated, checkpoint), then an "immediate" one (SIGQUIT to the
 * postmaster: no checkpoint, crash recovery on start).
 *
 * During each outage, requests must get the generic JSON 500 (readiness 503), never a stack, SQL
 * or driver text; the server process must keep running and serve again within 5 seconds of the
 * database being back; afterwards the stock must still equal its movements, with nothing oversold.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import {
  ApiProcess,
  checkOrderInvariants,
  errorBodyProblem,
  FaultDatabase,
  GENERIC_500,
  placeOnce,
  seedCustomers,
  seedProduct,
  send,
  settle,
  listenerSessions,
  ok,
  SteadyLoad,
  waitFor,
  type Customer,
  type LogicalOrder,
  type Outcome,
} from './harness'

const INITIAL_STOCK = 100_000 // never runs out: every order during the test could succeed
const WORKERS = 4
const RECOVERY_LIMIT_MS = 5000

let db: FaultDatabase
let api: ApiProcess
let customers: Customer[]
let watcher: Customer // not part of the load: its password is changed at the end
let productId: number

beforeAll(async () => {
  db = await FaultDatabase.create('restart')
  api = await ApiProcess.start(db)
  customers = await seedCustomers(db, WORKERS)
  watcher = (await seedCustomers(db, 1, 'watcher'))[0]!
  productId = await seedProduct(db, 'Steady Widget', INITIAL_STOCK)
}, 60_000)

afterAll(async () => {
  await api?.stop()
  await db?.destroy()
}, 30_000)

interface OutageFigures {
  mode: string
  downMs: number
  startMs: number
  outageRequests: number
  generic500: number
  ready503: number
  recoveryMs: number
  failedWhileRecovering: number
  listenerBackMs: number
}

/** One restart of PostgreSQL under the load, with what must hold during and after it. */
async function restartDatabase(load: SteadyLoad, mode: 'fast' | 'immediate'): Promise<OutageFigures> {
  const before = performance.now()
  await waitFor('a successful order before the restart', 10_000, async () =>
    load.since(before).some((s) => s.op === 'order' && s.outcome.reply?.status === 201) ? true : undefined,
  )

  const stopping = performance.now()
  if (mode === 'fast') await db.stopFast()
  else await db.stopImmediate()
  const down = performance.now()

  // Readiness says so at once, and the load meets the outage (a few requests of each kind).
  const ready = await send(api.url, 'GET', '/health/ready')
  expect(ready.reply?.status).toBe(503)
  expect(ready.reply?.body).toEqual({ error: 'Service Unavailable', message: 'The database is not reachable.' })
  let ready503 = 1
  await waitFor(`requests during the ${mode} outage`, 10_000, async () => {
    const probe = await send(api.url, 'GET', '/health/ready')
    if (probe.reply?.status === 503) ready503++
    const ops = new Set(load.since(down).map((s) => s.op))
    return ops.size === 3 && load.since(down).length >= 12 ? true : undefined
  })
  expect(api.running).toBe(true)

  const starting = performance.now()
  await db.start()
  const up = performance.now()

  // Recovery: a readiness check, a read and an order that all succeed, polled without fixed sleeps.
  const probeOrder = (n: number): LogicalOrder => ({
    key: `probe-${mode}-${n}-${crypto.randomUUID().slice(0, 8)}`,
    customer: customers[0]!,
    body: { product_id: productId, quantity: 1 },
    attempts: [],
  })
  let probes = 0
  await waitFor(`service recovery after the ${mode} restart`, 15_000, async () => {
    const [readiness, read] = await Promise.all([
      send(api.url, 'GET', '/health/ready', { timeoutMs: 5000 }),
      send(api.url, 'GET', `/products/${productId}`, { authorization: customers[1]!.authorization, timeoutMs: 5000 }),
    ])
    if (!ok(readiness) || !ok(read)) return undefined
    const order = probeOrder(probes++)
    load.orders.push(order) // probes are orders too: the invariants count them
    return ok(await placeOnce(api.url, order, { timeoutMs: 5000 })) ? true : undefined
  }, 25)
  const recovered = performance.now()

  // The LISTEN connection for user changes comes back too (and only once).
  await waitFor('the user-change listener to reconnect', 10_000, async () => ((await listenerSessions(db)) === 1 ? true : undefined))
  const listenerBack = performance.now()

  // Once recovered, the load is served again: everything sent after that point succeeds.
  await waitFor('load requests after recovery', 10_000, async () => (load.since(recovered).length >= 12 ? true : undefined))
  const failedAfter = load.since(recovered).filter((s) => !ok(s.outcome))
  expect(failedAfter.map((s) => s.outcome.reply?.text ?? s.outcome.error)).toEqual([])

  // The outage: from the stop until PostgreSQL accepted connections again (crash recovery included).
  const outage = load.since(stopping).filter((s) => s.outcome.at < up)
  const generic500 = outage.filter((s) => s.outcome.reply?.status === 500).length
  expect(generic500).toBeGreaterThan(0)
  const failedWhileRecovering = load.since(up).filter((s) => s.outcome.at < recovered && !ok(s.outcome)).length
  return {
    mode,
    downMs: Math.round(down - stopping),
    startMs: Math.round(up - starting),
    outageRequests: outage.length,
    generic500,
    ready503,
    recoveryMs: Math.round(recovered - up),
    failedWhileRecovering,
    listenerBackMs: Math.round(listenerBack - up),
  }
}

test('PostgreSQL restarts (fast, then immediate) under load: generic 500s, readiness 503, recovery within 5 s, invariants intact', async () => {
  const pid = api.pid
  const load = new SteadyLoad([api.url], customers, productId)
  let figures: OutageFigures[]
  try {
    figures = [await restartDatabase(load, 'fast'), await restartDatabase(load, 'immediate')]
  } finally {
    await load.stop()
  }

  // The same process served throughout.
  expect(api.running).toBe(true)
  expect(api.pid).toBe(pid)
  // The immediate restart really was one: PostgreSQL recovered from a crash-like stop.
  expect(db.log.some((line) => line.includes('received immediate shutdown request'))).toBe(true)
  expect(db.log.some((line) => line.includes('automatic recovery in progress'))).toBe(true)

  // Every answer of the whole run: 2xx, or exactly the generic 500; never a connection error,
  // another status, a stack, SQL or driver text.
  const outcomes = load.samples.map((s) => s.outcome)
  expect(outcomes.filter((o) => !o.reply).map((o) => o.error)).toEqual([])
  const statuses = new Set(outcomes.map((o) => o.reply!.status))
  expect([...statuses].filter((status) => ![200, 201, 500].includes(status))).toEqual([])
  for (const outcome of outcomes) {
    expect(errorBodyProblem(outcome.reply!)).toBeUndefined()
    if (outcome.reply!.status === 500) expect(outcome.reply!.body).toEqual(GENERIC_500)
  }

  // Orders whose outcome was unknown (a 500) are retried with their key: none may order twice.
  const unknown = load.orders.filter((order) => order.attempts.at(-1)?.reply?.status !== 201).length
  const retried = await settle(api.url, load.orders, { timeoutMs: 20_000 })
  // The LISTEN connection works again, not just connects: a password change made by another
  // process (as a second replica would: UPDATE + NOTIFY in one transaction) ends the cached login.
  expect((await send(api.url, 'GET', `/products/${productId}`, { authorization: watcher.authorization })).reply?.status).toBe(200)
  const changedAt = performance.now()
  const newHash = await Bun.password.hash('watcher-new-password', { algorithm: 'argon2id', memoryCost: 256, timeCost: 1 })
  await db.query(
    `WITH changed AS (UPDATE users SET password_hash = $2, token_version = token_version + 1 WHERE id = $1 RETURNING id)
     SELECT pg_notify('user_changed', id::text) FROM changed`,
    [watcher.id, newHash],
  )
  await waitFor('the old password to be refused after a change elsewhere', 3000, async () => {
    const probe = await send(api.url, 'GET', `/products/${productId}`, { authorization: watcher.authorization })
    return probe.reply?.status === 401 ? true : undefined
  })
  const staleLoginMs = Math.round(performance.now() - changedAt)

  const replayed = load.orders.filter((order) => order.attempts.length > 1 && order.attempts.at(-1)!.reply?.headers.get('idempotent-replayed') === 'true').length
  const result = await checkOrderInvariants(db, productId, INITIAL_STOCK, load.orders)
  const { ledger } = result

  console.info(
    [
      `database restart while serving: ${load.samples.length} load requests from ${WORKERS} clients, ${load.orders.length} orders`,
      ...figures!.map(
        (f) =>
          `  ${f.mode}: stop took ${f.downMs} ms, start ${f.startMs} ms; ${f.outageRequests} requests sent from the stop until PostgreSQL was up, ${f.generic500} × generic 500, ` +
          `${f.ready503} × readiness 503; served again ${f.recoveryMs} ms after PostgreSQL was up (limit ${RECOVERY_LIMIT_MS}; ` +
          `${f.failedWhileRecovering} failed in between), ` +
          `LISTEN back after ${f.listenerBackMs} ms`,
      ),
      `  statuses seen: ${[...statuses].sort().join(', ')}; bodies checked for stacks/SQL/driver text: ${outcomes.length}`,
      `  orders with a 500: ${unknown}, retried with the same key: ${retried} (${replayed} replayed: committed before the connection died)`,
      `  acknowledged 201: ${result.acknowledged}, orders found ${result.found}, stored keys ${result.storedKeys}`,
      `  after the restarts, a password changed by another process (UPDATE + NOTIFY) refused the old password after ${staleLoginMs} ms`,
      `  the server logged the causes instead (with request ids): ` +
        [...api.loggedErrors].map(([message, { count, withRequestId }]) => `${count}× (${withRequestId} with id) ${message}`).join('; '),
      `  initial stock ${INITIAL_STOCK} = stock ${ledger.stock} + ordered ${ledger.ordered}; movements sum ${ledger.movements}`,
    ].join('\n'),
  )
  for (const f of figures!) expect(f.recoveryMs).toBeLessThan(RECOVERY_LIMIT_MS)
  expect(result.problems).toEqual([])
  expect(result.acknowledged).toBe(load.orders.length)
}, 100_000)
