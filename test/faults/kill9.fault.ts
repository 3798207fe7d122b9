/**
 * Fault: kill -9 of the server in the middle of an order storm.
 *
 * Many customers place orders at once, each with its own Idempotency-Key (a few of them were sent
 * before, stalled, abandoned by their clients and committed unanswered); once a quarter of the
 * answers are in, the server process gets SIGKILL with the rest in flight. It is started again and
 * every order whose outcome the client could not know (no reply, a 5xx) is retried with the same key
 * and body; that retry wave is cut by a second SIGKILL too, then after one more restart every order
 * is retried until it has a definitive answer. The database must agree with what clients were told.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import {
  ApiProcess,
  checkOrderInvariants,
  errorBodyProblem,
  FaultDatabase,
  isDefinitive,
  lockProduct,
  placeOnce,
  seedCustomers,
  seedProduct,
  settle,
  stalledSessions,
  waitFor,
  type Customer,
  type LogicalOrder,
} from './harness'

const REQUESTS = 240
const INITIAL_STOCK = 300 // demand is 480 units (quantities 1–3): the stock runs out during the storm
const POOL_SIZE = 10
const LOST = 8 // fewer than the pool's connections: every one of them reaches the row lock

let db: FaultDatabase
let api: ApiProcess
let customers: Customer[]
let productId: number

beforeAll(async () => {
  db = await FaultDatabase.create('kill9')
  api = await ApiProcess.start(db, { DATABASE_POOL_SIZE: String(POOL_SIZE) })
  customers = await seedCustomers(db, 6)
  productId = await seedProduct(db, 'Storm Lantern', INITIAL_STOCK)
}, 60_000)

afterAll(async () => {
  await api?.stop()
  await db?.destroy()
}, 30_000)

/**
 * Sends every order of `wave` at once (its next attempt) and SIGKILLs the server once a quarter of
 * them are answered: the kill is triggered by the answers, not by a timer. Returns the answers seen.
 */
async function waveWithKill(wave: LogicalOrder[]): Promise<number> {
  const killAfter = Math.ceil(wave.length / 4)
  let answered = 0
  const { promise: enoughAnswered, resolve } = Promise.withResolvers<void>()
  const sending = wave.map(async (order) => {
    const outcome = await placeOnce(api.url, order)
    if (outcome.reply && ++answered === killAfter) resolve()
  })
  await Promise.race([enoughAnswered, Bun.sleep(20_000)])
  const answeredBeforeKill = answered
  await api.kill9()
  await Promise.all(sending)
  return answeredBeforeKill
}

test('kill -9 mid-storm (and again mid-retry): every 201 exists, no key orders twice, stock and movements agree', async () => {
  const run = crypto.randomUUID().slice(0, 8)
  const orders: LogicalOrder[] = Array.from({ length: REQUESTS }, (_, i) => ({
    key: `storm-${run}-${i}`,
    customer: customers[i % customers.length]!,
    body: { product_id: productId, quantity: 1 + (i % 3) },
    attempts: [],
  }))
  const unknown = () => orders.filter((order) => !isDefinitive(order.attempts.at(-1)))

  // 0. Answers that are certain to be lost: the first LOST orders stall on a row lock the test
  //    holds, their clients give up, and only then is the lock released, so the server commits
  //    them with nobody listening. Their retries must be replays, never second orders. (A kill
  //    alone lands between a commit and its answer only now and then.)
  const lost = orders.slice(0, LOST)
  const lock = await lockProduct(db, productId)
  const giveUp = new AbortController()
  const abandoned = lost.map((order) => placeOnce(api.url, order, { signal: giveUp.signal }))
  await waitFor('the first orders to stall on the row lock', 10_000, async () => ((await stalledSessions(db)) === LOST ? true : undefined), 20)
  giveUp.abort()
  await Promise.all(abandoned)
  await lock.release()
  await waitFor('the abandoned orders to commit', 10_000, async () => {
    const [row] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM idempotency_keys WHERE key = ANY($1)', [lost.map((o) => o.key)])
    return row!.n === LOST ? true : undefined
  })
  expect(lost.every((order) => order.attempts.length === 1 && !order.attempts[0]!.reply)).toBe(true)

  // 1. The storm (the abandoned orders included, as their clients retry), cut by kill -9.
  const answeredInStorm = await waveWithKill(orders)
  const unknownAtKill = unknown().length
  // The kill really cut requests in flight, or this test proves nothing.
  expect(unknownAtKill).toBeGreaterThan(0)

  // 2. Restart; the clients retry all unknown orders at once (same key, same body), and the
  //    server is killed again in the middle of that retry wave, as in a crash loop.
  let restarts = 0
  let restartMs = 0
  const restart = async () => {
    const started = performance.now()
    await api.restart()
    restartMs = Math.max(restartMs, performance.now() - started)
    restarts++
  }
  await restart()
  const retryWave = unknown()
  const answeredInRetryWave = await waveWithKill(retryWave)
  const unknownAtSecondKill = unknown().length

  // 3. Restart once more; every order still unknown is retried until its answer is definitive.
  await restart()
  const lastRestart = orders.map((order) => order.attempts.length)
  await settle(api.url, orders, { timeoutMs: 30_000 })

  // Before the kills nothing failed; after the last restart: no 5xx, no lost connection.
  const answers = orders.flatMap((order) => order.attempts).filter((outcome) => outcome.reply)
  for (const outcome of answers) expect(errorBodyProblem(outcome.reply!)).toBeUndefined()
  const afterRestart = orders.flatMap((order, i) => order.attempts.slice(lastRestart[i]))
  expect(afterRestart.filter((outcome) => !outcome.reply).map((outcome) => outcome.error)).toEqual([])
  expect(afterRestart.filter((outcome) => outcome.reply!.status >= 500).map((outcome) => outcome.reply!.text)).toEqual([])
  expect(answers.filter((outcome) => outcome.reply!.status >= 500).map((outcome) => outcome.reply!.text)).toEqual([])
  for (const order of orders) expect([201, 400]).toContain(order.attempts.at(-1)!.reply!.status)

  const retried = orders.filter((order) => order.attempts.length > 1).length
  const retryRequests = orders.reduce((sum, order) => sum + order.attempts.length - 1, 0)
  const replayed = answers.filter((outcome) => outcome.reply!.headers.get('idempotent-replayed') === 'true').length
  const result = await checkOrderInvariants(db, productId, INITIAL_STOCK, orders)
  const { ledger } = result
  console.info(
    [
      `kill -9 mid-storm: ${REQUESTS} requests (${customers.length} customers, quantities 1-3, stock ${INITIAL_STOCK});` +
        ` the first ${LOST} were abandoned by their clients while stalled, then committed unanswered`,
      `  SIGKILL after ${answeredInStorm} answers: ${unknownAtKill} outcomes unknown; restarted, all retried at once with the same key;` +
        ` SIGKILL again after ${answeredInRetryWave} of those ${retryWave.length} answers: ${unknownAtSecondKill} still unknown`,
      `  ${restarts} restarts (slowest ${Math.round(restartMs)} ms to ready); ${retried} requests retried in ${retryRequests} retry requests,` +
        ` ${replayed} answered by replay (Idempotent-Replayed: true: committed before the kill, answer lost)`,
      `  acknowledged 201: ${result.acknowledged}, refused 400 Insufficient stock: ${result.refused}, 5xx after restart: 0`,
      `  orders found ${result.found}, stored keys ${result.storedKeys}, ordered units ${ledger.ordered}`,
      `  initial stock ${INITIAL_STOCK} = stock ${ledger.stock} + ordered ${ledger.ordered}; movements sum ${ledger.movements}`,
    ].join('\n'),
  )
  expect(result.problems).toEqual([])
  expect(result.acknowledged + result.refused).toBe(REQUESTS)
  // Each abandoned order was answered, when asked again, by a replay of its one order.
  for (const order of lost) {
    const first = order.attempts.find((outcome) => outcome.reply)!.reply!
    expect(first.status).toBe(201)
    expect(first.headers.get('idempotent-replayed')).toBe('true')
  }
  expect(api.running).toBe(true)
}, 90_000)
