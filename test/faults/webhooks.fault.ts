/**
 * Faults of webhook delivery, with real server processes, a real PostgreSQL and real receivers on
 * loopback: kill -9 of the API between the orders' 201s and their delivery, a PostgreSQL restart
 * while events are queued, and two API processes sharing the queue under an order storm.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { UNRELAYED_ROWS } from '../../src/modules/webhooks/sql'
import { Receiver } from '../support/webhook-receiver'
import { ApiProcess, FaultDatabase, seedCustomers, seedProduct, send, waitFor, type Customer } from './harness'

const ADMIN = `Basic ${btoa('admin:fault-admin-password')}`
/**
 * Short timeouts so that a job locked by a killed process is recovered in seconds: its lock counts
 * as stale after the HTTP timeout plus two statement timeouts plus 5 s (here 1 + 2 × 2 + 5 = 10 s).
 */
const FAST = { WEBHOOK_TIMEOUT_MS: '1000', DATABASE_STATEMENT_TIMEOUT_MS: '2000', WEBHOOK_RETRY_BASE_MS: '200' }

let db: FaultDatabase
let customers: Customer[]
const apis: ApiProcess[] = []
const receivers: Receiver[] = []

beforeAll(async () => {
  db = await FaultDatabase.create('webhooks')
  apis.push(await ApiProcess.start(db, FAST))
  customers = await seedCustomers(db, 4)
}, 60_000)

afterAll(async () => {
  for (const api of apis) await api.stop()
  for (const receiver of receivers) receiver.stop()
  await db?.destroy()
}, 30_000)

async function subscribe(api: ApiProcess, receiver: Receiver, events = ['order.created']): Promise<number> {
  const outcome = await send(api.url, 'POST', '/webhooks', { authorization: ADMIN, body: { url: receiver.url, events } })
  expect(outcome.reply?.status).toBe(201)
  return outcome.reply!.body.id
}

/** Places `count` orders of one unit, 40 at a time, across `targets`; returns the ids of those answered 201. */
async function orderStorm(targets: ApiProcess[], productId: number, count: number): Promise<number[]> {
  const placed: number[] = []
  for (let start = 0; start < count; start += 40) {
    const outcomes = await Promise.all(
      Array.from({ length: Math.min(40, count - start) }, (_, j) => {
        const i = start + j
        return send(targets[i % targets.length]!.url, 'POST', '/orders', { authorization: customers[i % customers.length]!.authorization, body: { product_id: productId, quantity: 1 } })
      }),
    )
    for (const outcome of outcomes) if (outcome.reply?.status === 201) placed.push(outcome.reply.body.id)
  }
  return placed
}

/** Orders whose order.created event the receiver accepted (answered 2xx). */
const orderIdsIn = (receiver: Receiver) => new Set(receiver.events(true).filter((event) => event.type === 'order.created').map((event) => event.data.id as number))

async function allDelivered(timeoutMs: number) {
  await waitFor('every movement and alert relayed and every delivery marked delivered', timeoutMs, async () => {
    const [row] = await db.query<{ open: number }>("SELECT count(*)::int AS open FROM webhook_deliveries WHERE status <> 'delivered'")
    const [unrelayed] = await db.query<{ n: number }>(UNRELAYED_ROWS)
    return row!.open === 0 && unrelayed!.n === 0 ? true : undefined
  }, 200)
}

async function clearEndpoints() {
  await db.query('TRUNCATE webhook_endpoints, webhook_deliveries')
}

test('kill -9 right after the orders are acknowledged, before delivery: after a restart every acknowledged order arrives', async () => {
  await clearEndpoints()
  const api = apis[0]!
  const receiver = new Receiver().start()
  receivers.push(receiver)
  let accepting = false
  receiver.answer = () => (accepting ? 200 : 'hang') // until the kill, attempts hang: nothing is delivered
  await subscribe(api, receiver)
  const productId = await seedProduct(db, 'Lantern', 1000)

  const acknowledged = await orderStorm([api], productId, 120)
  // Killed with the events relayed and their first attempts in flight (hanging), their jobs locked by the killed process.
  await waitFor('the events relayed and attempts in flight', 10_000, async () => {
    const [row] = await db.query<{ relayed: number }>('SELECT count(*)::int AS relayed FROM webhook_deliveries')
    return row!.relayed === 120 && receiver.received.length > 0 ? true : undefined
  }, 50)
  await api.kill9()
  expect(acknowledged.length).toBe(120)
  expect(orderIdsIn(receiver).size).toBe(0)
  expect(await db.query("SELECT count(*)::int AS delivered FROM webhook_deliveries WHERE status = 'delivered'")).toEqual([{ delivered: 0 }])

  accepting = true
  await api.restart()
  // Jobs that were locked by the killed process wait for the stale-lock sweep (~10 s here).
  await waitFor('every acknowledged order to arrive', 45_000, async () => (orderIdsIn(receiver).size === acknowledged.length ? true : undefined), 200)
  expect([...orderIdsIn(receiver)].sort((a, b) => a - b)).toEqual([...acknowledged].sort((a, b) => a - b))
  // At-least-once: a repeat carries the same webhook-id as the first copy and the same body.
  const bodyById = new Map<string, string>()
  for (const entry of receiver.received) {
    expect(bodyById.get(entry.id) ?? entry.body).toBe(entry.body)
    bodyById.set(entry.id, entry.body)
  }
  await allDelivered(20_000)
}, 120_000)

test('a PostgreSQL restart while events are queued: they are all delivered once it is back', async () => {
  await clearEndpoints()
  const api = apis[0]!
  const receiver = new Receiver().start()
  receivers.push(receiver)
  receiver.delayMs = 20
  await subscribe(api, receiver, ['order.created', 'stock.changed'])
  const productId = await seedProduct(db, 'Stove', 1000)
  const acknowledged = await orderStorm([api], productId, 60)
  await db.stopFast()
  await Bun.sleep(1000)
  await db.start()
  await api.waitReady(30_000)
  await waitFor('every acknowledged order to arrive', 45_000, async () => (orderIdsIn(receiver).size === acknowledged.length ? true : undefined), 200)
  await allDelivered(30_000)
  // The restart can end graphile-worker's runner, or leave it failing every fetch (see worker.ts): it is then replaced.
  const replaced = api.output.filter((line) => line.includes('"webhook worker restarted"')).map((line) => JSON.parse(line).reason)
  console.info(`PostgreSQL restart with 60 orders' events queued: all delivered; runners replaced: ${replaced.length ? replaced.join('; ') : 'none'}`)
}, 120_000)

test('two API processes under an order storm: every event reaches every endpoint, never by two senders at once', async () => {
  await clearEndpoints()
  await apis[0]!.stop()
  // No crash here: the default statement timeout, so that the storm on one hot row is not cut short.
  const env = { WEBHOOK_TIMEOUT_MS: '1000', WEBHOOK_RETRY_BASE_MS: '200', LOG_LEVEL: 'debug' }
  apis[0] = await ApiProcess.start(db, env)
  apis.push(await ApiProcess.start(db, { ...env, MIGRATIONS_RUN: 'false' }))
  const [first, second] = apis as [ApiProcess, ApiProcess]
  const receiverA = new Receiver().start()
  const receiverB = new Receiver().start()
  receivers.push(receiverA, receiverB)
  for (const receiver of [receiverA, receiverB]) {
    receiver.delayMs = 30 // long enough that a second sender of the same event would overlap
    receiver.answer = (_, index) => (index % 7 === 3 ? 500 : 200) // some attempts fail and are retried
  }
  const all = ['stock.low', 'stock.changed', 'order.created', 'order.status_changed']
  const endpointA = await subscribe(first, receiverA, all)
  const endpointB = await subscribe(second, receiverB, all)
  const productId = await seedProduct(db, 'Kettle', 400)

  const acknowledged = await orderStorm([first, second], productId, 300)
  expect(acknowledged.length).toBe(300)
  await allDelivered(60_000)

  const events = await db.query<{ endpoint_id: number; event_id: string }>('SELECT endpoint_id, event_id FROM webhook_deliveries ORDER BY id')
  // Per endpoint: the seeded stock's movement, then order.created and stock.changed per order.
  expect(events.length).toBe(2 * (1 + 2 * acknowledged.length))
  for (const receiver of [receiverA, receiverB]) expect(orderIdsIn(receiver)).toEqual(new Set(acknowledged))
  for (const [receiver, endpointId] of [[receiverA, endpointA], [receiverB, endpointB]] as const) {
    const expected = new Set(events.filter((event) => event.endpoint_id === endpointId).map((event) => event.event_id))
    expect(new Set(receiver.received.map((entry) => entry.id))).toEqual(expected)
    expect(receiver.overlapping).toEqual([])
  }
  // Both processes sent some: each logs its completed jobs (at debug).
  for (const api of [first, second]) expect(api.output.filter((line) => line.includes('Completed task')).length).toBeGreaterThan(0)
}, 180_000)
