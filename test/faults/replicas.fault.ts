/**
 * Fault: several API processes on one database, as replicas behind a load balancer.
 *
 * Three replicas start together on a migrated, empty database (the initial admin races); two of
 * them then serve a mixed load while the test checks what must hold across processes: a password
 * change or a deletion made on one is effective on the other at once (LISTEN/NOTIFY), and still
 * when the LISTEN connections are cut (the caches are bypassed); an Idempotency-Key sent to both
 * makes one order; stock never oversells; the idempotency-key purge runs once per interval, not once
 * per process. Finally one server with WEB_CONCURRENCY=2 shows that a scrape of /metrics, whichever
 * worker answers it, counts the requests of the whole process group.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import {
  ApiProcess,
  checkOrderInvariants,
  errorBodyProblem,
  FaultDatabase,
  isDefinitive,
  listenerSessions,
  migrate,
  placeOnce,
  seedCustomers,
  seedProduct,
  send,
  settle,
  SteadyLoad,
  waitFor,
  type Customer,
  type LogicalOrder,
} from './harness'

const ADMIN_PASSWORD = 'fault-admin-password'
const admin = `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}`
const PURGE_INTERVAL_SECONDS = 2
/** "At once" across processes: a notification travels in milliseconds; this bounds scheduling noise. */
const PROPAGATION_LIMIT_MS = 1000

let db: FaultDatabase
const replicas: ApiProcess[] = []
let [a, b] = [] as unknown as [ApiProcess, ApiProcess]

beforeAll(async () => {
  db = await FaultDatabase.create('replicas')
  await migrate(db)
}, 60_000)

afterAll(async () => {
  await Promise.all(replicas.map((replica) => replica.stop()))
  await db?.destroy()
}, 30_000)

const basic = (username: string, password: string) => `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`

/** Polls `url` with `authorization` until it is refused; returns how long that took. */
async function msUntilRefused(url: string, path: string, authorization: string): Promise<number> {
  const from = performance.now()
  await waitFor(`${url}${path} to refuse stale credentials`, PROPAGATION_LIMIT_MS, async () => {
    const probe = await send(url, 'GET', path, { authorization })
    return probe.reply?.status === 401 ? true : undefined
  }, 5)
  return Math.round(performance.now() - from)
}

test('three replicas starting together on an empty database create one admin, without an error', async () => {
  const started = await Promise.all(
    [1, 2, 3].map(() => ApiProcess.start(db, { MIGRATIONS_RUN: 'false', IDEMPOTENCY_PURGE_INTERVAL_SECONDS: String(PURGE_INTERVAL_SECONDS) })),
  )
  replicas.push(...started)
  const admins = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM users WHERE lower(username) = 'admin' AND role = 'admin'`)
  expect(admins[0]!.n).toBe(1)
  for (const replica of started) {
    expect((await send(replica.url, 'GET', '/users?limit=1', { authorization: admin })).reply?.status).toBe(200)
    expect([...replica.loggedErrors.keys()]).toEqual([])
  }
  // Two serve the rest of the test; the third stops.
  await started[2]!.stop()
  ;[a, b] = [started[0]!, started[1]!]
}, 90_000)

describe('two replicas, one database', () => {
  let customers: Customer[]
  let productId: number

  beforeAll(async () => {
    customers = await seedCustomers(db, 4)
    productId = await seedProduct(db, 'Shared Sprocket', 1000)
  })

  test('a password change on one replica ends the old password and tokens on the other at once', async () => {
    const [user] = await seedCustomers(db, 1, 'mover')
    const path = `/products/${productId}`
    // B remembers the verified password and the user (its caches are warm).
    expect((await send(b.url, 'GET', path, { authorization: user!.authorization })).reply?.status).toBe(200)
    const login = await send(b.url, 'POST', '/login', { authorization: user!.authorization })
    const bearer = `Bearer ${login.reply!.body.access_token}`
    expect((await send(b.url, 'GET', path, { authorization: bearer })).reply?.status).toBe(200)

    const changed = await send(a.url, 'PUT', `/users/${user!.id}`, { authorization: user!.authorization, body: { password: 'mover-new-password' } })
    expect(changed.reply?.status).toBe(200)
    const basicMs = await msUntilRefused(b.url, path, user!.authorization)
    const bearerMs = await msUntilRefused(b.url, path, bearer)
    expect((await send(b.url, 'GET', path, { authorization: basic(user!.username, 'mover-new-password') })).reply?.status).toBe(200)
    console.info(`password changed on A: B refused the old password after ${basicMs} ms, the old token after ${bearerMs} ms`)
  })

  test('a deletion on one replica is effective on the other at once', async () => {
    const [user] = await seedCustomers(db, 1, 'leaver')
    const path = `/products/${productId}`
    expect((await send(b.url, 'GET', path, { authorization: user!.authorization })).reply?.status).toBe(200)
    expect((await send(a.url, 'DELETE', `/users/${user!.id}`, { authorization: admin })).reply?.status).toBe(204)
    const ms = await msUntilRefused(b.url, path, user!.authorization)
    console.info(`user deleted on A: B refused them after ${ms} ms`)
  })

  test('with the LISTEN connections cut, a change made elsewhere is still effective at once (caches bypassed)', async () => {
    const [user] = await seedCustomers(db, 1, 'unheard')
    const path = `/products/${productId}`
    expect((await send(b.url, 'GET', path, { authorization: user!.authorization })).reply?.status).toBe(200)
    expect(await listenerSessions(db)).toBe(2)
    await db.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'inventory-api-listener'`)
    await waitFor('both listeners to notice', 2000, async () =>
      [a, b].every((replica) => replica.output.some((line) => line.includes('user-change listener disconnected'))) ? true : undefined, 5)
    // Changed behind the servers' backs, with no notification at all: only the bypass can catch it.
    const hash = await Bun.password.hash('unheard-new-password', { algorithm: 'argon2id', memoryCost: 256, timeCost: 1 })
    await db.query(`UPDATE users SET password_hash = $2, token_version = token_version + 1 WHERE id = $1`, [user!.id, hash])
    const refused = await send(b.url, 'GET', path, { authorization: user!.authorization })
    const stillDown = (await listenerSessions(db)) === 0 // the listeners come back after 1 s
    expect(refused.reply?.status).toBe(401)
    expect(stillDown).toBe(true)
    expect((await send(b.url, 'GET', path, { authorization: basic(user!.username, 'unheard-new-password') })).reply?.status).toBe(200)
    await waitFor('the listeners to reconnect', 10_000, async () => ((await listenerSessions(db)) === 2 ? true : undefined))
  })

  test('an Idempotency-Key sent to both replicas at once makes one order', async () => {
    const keyed: LogicalOrder[] = Array.from({ length: 10 }, (_, i) => ({
      key: `both-${i}-${crypto.randomUUID().slice(0, 8)}`,
      customer: customers[i % customers.length]!,
      body: { product_id: productId, quantity: 1 },
      attempts: [],
    }))
    await Promise.all(keyed.map((order) => Promise.all([placeOnce(a.url, order), placeOnce(b.url, order)])))
    for (const order of keyed) {
      const statuses = order.attempts.map((outcome) => outcome.reply?.status).sort()
      // One placed it; the other replayed it (201) or found it in flight (409).
      expect([[201, 201], [201, 409]]).toContainEqual(statuses as number[])
    }
    await settle(a.url, keyed, { timeoutMs: 10_000 })
    // Sequential repeats on the other replica replay the same order.
    for (const order of keyed) {
      const first = order.attempts.find((outcome) => outcome.reply?.status === 201)!.reply!.body.id
      const repeat = await placeOnce(b.url, order)
      expect(repeat.reply?.headers.get('idempotent-replayed')).toBe('true')
      expect(repeat.reply?.body.id).toBe(first)
    }
    const orderIds = new Set(keyed.map((order) => order.attempts.find((outcome) => outcome.reply?.status === 201)!.reply!.body.id))
    expect(orderIds.size).toBe(keyed.length)
    const rows = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM orders WHERE id = ANY($1::int[])`, [[...orderIds]])
    expect(rows[0]!.n).toBe(keyed.length)
  })

  test('a mixed load on both replicas never oversells; the purge runs once per interval', async () => {
    const scarce = await seedProduct(db, 'Scarce Sprocket', 60)
    const purgeRuns = async () => Number((await db.query<{ runs: string }>(`SELECT runs FROM scheduled_jobs WHERE name = 'purge-expired-idempotency-keys'`))[0]?.runs ?? 0)
    // An expired key, which the next purge removes.
    await db.query(`INSERT INTO idempotency_keys (user_id, key, request_hash, status_code, response_body, created_at)
                    VALUES ($1, 'expired-key', repeat('0', 64), 201, '{}', now() - interval '25 hours')`, [customers[0]!.id])
    const runsBefore = await purgeRuns()
    const from = performance.now()

    const load = new SteadyLoad([a.url, b.url], customers, scarce, { pauseMs: 5 })
    try {
      await waitFor('the stock to run out and orders to be refused', 30_000, async () => {
        const refused = load.orders.filter((order) => order.attempts.at(-1)?.reply?.body?.error === 'Insufficient stock').length
        return refused >= 10 && performance.now() - from > 4 * PURGE_INTERVAL_SECONDS * 1000 ? true : undefined
      }, 100)
    } finally {
      await load.stop()
    }
    const elapsedSeconds = (performance.now() - from) / 1000
    const runs = (await purgeRuns()) - runsBefore

    expect(load.samples.map((s) => s.outcome.reply?.status).filter((status) => status === undefined || status >= 500)).toEqual([])
    for (const { outcome } of load.samples) expect(errorBodyProblem(outcome.reply!)).toBeUndefined()
    expect(new Set(load.samples.map((s) => s.server))).toEqual(new Set([0, 1]))
    expect(load.orders.every((order) => isDefinitive(order.attempts.at(-1)))).toBe(true)
    const result = await checkOrderInvariants(db, scarce, 60, load.orders)
    expect(result.problems).toEqual([])
    expect(result.ledger.stock).toBe(0)
    expect(result.acknowledged).toBe(60)

    // Two processes, each checking 4 times per interval: one run per interval in all, never one per process.
    expect(runs).toBeGreaterThanOrEqual(Math.floor(elapsedSeconds / (PURGE_INTERVAL_SECONDS * 1.25)) - 1)
    expect(runs).toBeLessThanOrEqual(Math.floor(elapsedSeconds / PURGE_INTERVAL_SECONDS) + 1)
    expect(await db.query(`SELECT 1 FROM idempotency_keys WHERE key = 'expired-key'`)).toEqual([])
    console.info(
      `mixed load on 2 replicas: ${load.samples.length} requests (${load.orders.length} orders), ${result.acknowledged} placed, ${result.refused} refused ` +
        `(Insufficient stock), final stock ${result.ledger.stock}; purge ran ${runs} times in ${elapsedSeconds.toFixed(1)} s ` +
        `(interval ${PURGE_INTERVAL_SECONDS} s, 2 processes)`,
    )
  }, 60_000)
})

test('WEB_CONCURRENCY=2: every scrape counts the requests of both workers', async () => {
  // At info level the workers log their start (with their pid) and every request.
  const group = await ApiProcess.start(db, { MIGRATIONS_RUN: 'false', WEB_CONCURRENCY: '2', LOG_LEVEL: 'info' })
  replicas.push(group)
  const count = async () => {
    // A new connection each time, so that the kernel spreads the scrapes over the workers too.
    const scrape = await send(group.url, 'GET', '/metrics', { newConnection: true })
    expect(scrape.reply?.status).toBe(200)
    const line = scrape.reply!.text.split('\n').find((l) => l.startsWith('http_requests_total{method="GET",route="/health",status="200"}'))
    return Number(line?.split(' ').at(-1) ?? 0)
  }
  for (let i = 0; i < 40; i++) expect((await send(group.url, 'GET', '/health', { newConnection: true })).reply?.status).toBe(200)
  const pids = new Set<number>()
  await waitFor('the workers to have counted every request', 5000, async () => ((await count()) === 40 ? true : undefined))
  const scrapes = await Promise.all(Array.from({ length: 10 }, count))
  expect(scrapes, group.tail()).toEqual(scrapes.map(() => 40))
  for (const line of group.output) {
    const pid = (line.match(/"pid":(\d+)/) ?? [])[1]
    if (pid && line.includes('listening')) pids.add(Number(pid))
  }
  expect(pids.size).toBe(2)
  expect([...group.loggedErrors.keys()]).toEqual([])
  expect(group.output.filter((line) => line.includes('in time'))).toEqual([])
}, 60_000)
