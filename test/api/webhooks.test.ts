/**
 * Webhooks end to end: the admin API, then events from every path reaching a real receiver on
 * loopback through the real delivery worker (graphile-worker on the test PostgreSQL), signed so
 * that the standardwebhooks library verifies them, retried with backoff, never for a rollback.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, spyOn, test } from 'bun:test'
import { Client } from 'pg'
import { dataSource } from '../../src/db/data-source'
import { log } from '../../src/http/logger'
import { webhookDeliveries } from '../../src/modules/metrics/registry'
import { RELAY_BATCH, relayBacklog, type RelayStatement } from '../../src/modules/webhooks/relay'
import { DELIVERY_BATCH, DELIVERY_TASK, RELAY_MOVEMENT_EVENTS } from '../../src/modules/webhooks/sql'
import { startDeliveryWorker } from '../../src/modules/webhooks/worker'
import { waitFor } from '../faults/harness'
import { insertProduct } from '../support/fixtures'
import { call, FORBIDDEN_BODY, query, resetDatabase, type Seeded } from '../support/helpers'
import { Receiver, verify, type Received } from '../support/webhook-receiver'

const ALL_EVENTS = ['stock.low', 'stock.changed', 'order.created', 'order.status_changed']

let users: Seeded
let worker: { stop: () => Promise<void> }
const receivers: Receiver[] = []

const newReceiver = () => {
  const receiver = new Receiver().start()
  receivers.push(receiver)
  return receiver
}

async function register(url: string, events = ALL_EVENTS): Promise<{ id: number; secret: string }> {
  const response = await call<{ id: number; secret: string }>('POST', '/webhooks', { as: users.admin, body: { url, events } })
  expect(response.status).toBe(201)
  return response.body
}

const deliveriesOf = async (endpointId: number) => (await call('GET', `/webhooks/${endpointId}/deliveries`, { as: users.admin })).body.items!

/** Waits until the receiver holds `count` requests (within a few seconds), then a moment more to see that no extra one follows. */
async function receive(receiver: Receiver, count: number): Promise<Received[]> {
  await waitFor(`${count} webhook requests`, 10_000, async () => (receiver.received.length >= count ? true : undefined))
  await Bun.sleep(300)
  return receiver.received
}

beforeAll(async () => {
  worker = await startDeliveryWorker(process.env.DATABASE_URL!)
})

afterAll(async () => {
  await worker.stop()
  for (const receiver of receivers) receiver.stop()
})

beforeEach(async () => {
  users = await resetDatabase()
})

describe('webhook endpoints API', () => {
  test('POST /webhooks → 201 with a Standard Webhooks secret shown only then', async () => {
    const response = await call('POST', '/webhooks', {
      as: users.admin,
      body: { url: 'https://erp.example.com/hooks', events: ['stock.low', 'order.created'], description: 'ERP' },
    })
    expect(response.status).toBe(201)
    expect(response.body).toEqual({
      id: 1,
      url: 'https://erp.example.com/hooks',
      events: ['stock.low', 'order.created'],
      description: 'ERP',
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/),
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    })
    expect(Buffer.from(response.body.secret!.slice('whsec_'.length), 'base64')).toHaveLength(32)

    const { secret, ...shown } = response.body
    expect((await call('GET', '/webhooks/1', { as: users.admin })).body).toEqual(shown)
    const list = await call('GET', '/webhooks', { as: users.admin })
    expect(list.body).toEqual({ items: [shown], total: 1, total_exact: true, limit: 20, offset: 0, next_cursor: null })
    expect(list.text).not.toContain(secret)
  })

  test('invalid bodies → 400 with one clear message, nothing written', async () => {
    const cases: Array<[unknown, string]> = [
      [{ events: ['stock.low'] }, 'Webhook URL must be an absolute http or https URL of at most 2048 characters.'],
      [{ url: 'ftp://example.com/x', events: ['stock.low'] }, 'Webhook URL must be an absolute http or https URL of at most 2048 characters.'],
      [{ url: 'https://example.com/x' }, 'Webhook events is required.'],
      [{ url: 'https://example.com/x', events: [] }, 'Webhook events must contain at least 1 items.'],
      [{ url: 'https://example.com/x', events: ['order.deleted'] }, 'Webhook events must be one of: stock.low, stock.changed, order.created, order.status_changed.'],
      [{ url: 'https://example.com/x', events: ['stock.low', 'stock.low'] }, 'Webhook events must not contain duplicates.'],
    ]
    for (const [body, message] of cases) {
      const response = await call('POST', '/webhooks', { as: users.admin, body })
      expect({ status: response.status, body: response.body }).toEqual({ status: 400, body: { error: 'Invalid input', message } })
    }
    expect(await query('SELECT id FROM webhook_endpoints')).toEqual([])
  })

  test('admins only: anonymous → 401, customers and managers → 403', async () => {
    const body = { url: 'https://example.com/x', events: ['stock.low'] }
    expect((await call('POST', '/webhooks', { body })).status).toBe(401)
    for (const as of [users.customer, users.manager]) {
      for (const [method, path] of [['POST', '/webhooks'], ['GET', '/webhooks'], ['GET', '/webhooks/1'], ['DELETE', '/webhooks/1'], ['GET', '/webhooks/1/deliveries'], ['POST', '/webhooks/1/deliveries/1/retry']] as const) {
        const response = await call(method, path, { as, body: method === 'POST' ? body : undefined })
        expect({ path, status: response.status, body: response.body }).toEqual({ path, status: 403, body: FORBIDDEN_BODY })
      }
    }
  })

  test('unknown ids → 404 Webhook not found / Delivery not found; DELETE → 204, then 404', async () => {
    const notFound = { error: 'Webhook not found', message: 'The webhook with ID 42 does not exist.' }
    for (const [method, path] of [['GET', '/webhooks/42'], ['DELETE', '/webhooks/42'], ['GET', '/webhooks/42/deliveries'], ['POST', '/webhooks/42/deliveries/1/retry']] as const) {
      const response = await call(method, path, { as: users.admin })
      expect({ path, status: response.status, body: response.body }).toEqual({ path, status: 404, body: notFound })
    }
    const { id } = await register('https://example.com/x')
    const missing = await call('POST', `/webhooks/${id}/deliveries/7/retry`, { as: users.admin })
    expect(missing.body).toEqual({ error: 'Delivery not found', message: 'The delivery with ID 7 does not exist.' })
    expect((await call('DELETE', `/webhooks/${id}`, { as: users.admin })).status).toBe(204)
    expect((await call('GET', `/webhooks/${id}`, { as: users.admin })).status).toBe(404)
    expect((await call('GET', '/webhooks/abc', { as: users.admin })).body).toEqual({ error: 'Invalid input', message: 'Webhook ID must be a positive integer.' })
  })
})

describe('events from every path', () => {
  test('products, updates, orders (both paths), status changes and stock adjustments (one and bulk) arrive signed, with the documented bodies', async () => {
    const receiver = newReceiver()
    const { id: endpointId, secret } = await register(receiver.url)

    const created = await call('POST', '/products', { as: users.manager, body: { name: 'Drill', sku: 'DRL-1', price: 10, stock: 12, low_stock_threshold: 10 } })
    const productId = created.body.id
    const product = { id: productId, sku: 'DRL-1', name: 'Drill' }
    await receive(receiver, 1)

    // The one-statement order path: order, movement and (12 → 9 crosses 10) an alert.
    const order = await call('POST', '/orders', { as: users.customer, body: { product_id: productId, quantity: 3 } })
    expect(order.status).toBe(201)
    await receive(receiver, 4)
    // The transactional path (Idempotency-Key), then a stock update and a status change.
    const keyed = await call('POST', '/orders', { as: users.customer, body: { product_id: productId, quantity: 1 }, headers: { 'idempotency-key': 'k1' } })
    expect(keyed.status).toBe(201)
    await receive(receiver, 6)
    expect((await call('PUT', `/products/${productId}`, { as: users.manager, body: { stock: 20 } })).status).toBe(200)
    await receive(receiver, 7)
    const completed = await call('PUT', `/orders/${order.body.id}/status`, { as: users.manager, body: { status: 'Completed' } })
    await receive(receiver, 8)
    // A stock adjustment with its note, and a bulk adjustment.
    const adjusted = await call('POST', `/products/${productId}/stock-adjustments`, { as: users.manager, body: { delta: 2, reason: 'restock', note: 'Pallet 7' } })
    expect({ status: adjusted.status, body: adjusted.body }).toMatchObject({ status: 201 })
    await receive(receiver, 9)
    const bulk = await call('POST', '/stock-adjustments', { as: users.manager, body: { items: [{ product_id: productId, delta: -1, reason: 'damage' }] } })
    expect({ status: bulk.status, body: bulk.body }).toMatchObject({ status: 201 })
    await receive(receiver, 10)

    const received = receiver.received
    for (const entry of received) {
      expect(verify(secret, entry)).toEqual(JSON.parse(entry.body))
      expect(() => verify(secret, entry, entry.body.replace('"Drill"', '"Drilx"'))).toThrow()
      expect(JSON.parse(entry.body).id).toBe(entry.id)
    }
    const events = receiver.events()
    expect(new Set(events.map((event) => event.id)).size).toBe(10)
    const [alert] = await query('SELECT id, created_at FROM alerts')
    const movements = (await call('GET', `/products/${productId}/stock-movements?limit=100`, { as: users.manager })).body.items!
    const movement = (orderId: number | null, reason: string) => {
      const found = movements.find((m: any) => m.order_id === orderId && m.reason === reason)
      return { ...found, product }
    }
    const typed = (type: string) => events.filter((event) => event.type === type)
    const bodyOf = (type: string, data: Record<string, unknown>) => ({ id: expect.stringMatching(/^evt_[0-9a-f]{32}$/), type, timestamp: expect.stringMatching(/Z$/), data })

    expect(typed('order.created')).toEqual([bodyOf('order.created', { ...order.body, product }), bodyOf('order.created', { ...keyed.body, product })])
    expect(typed('stock.low')).toEqual([
      bodyOf('stock.low', { id: alert.id, product_id: productId, product_name: 'Drill', stock: 9, threshold: 10, order_id: order.body.id, created_at: alert.created_at.toISOString(), product }),
    ])
    expect(typed('stock.changed').map((event) => event.data).sort((a: any, b: any) => a.id - b.id)).toEqual([
      movement(null, 'initial'),
      movement(order.body.id!, 'order'),
      movement(keyed.body.id!, 'order'),
      movement(null, 'adjustment'),
      movement(null, 'restock'),
      movement(null, 'damage'),
    ])
    expect(typed('stock.changed').find((event) => event.data.reason === 'restock')!.data.note).toBe('Pallet 7')
    expect(typed('order.status_changed')).toEqual([
      bodyOf('order.status_changed', { ...completed.body, previous_status: 'Pending', product }),
    ])

    const deliveries = await deliveriesOf(endpointId)
    expect(deliveries).toHaveLength(10)
    expect(deliveries.map((d: any) => d.id)).toEqual([10, 9, 8, 7, 6, 5, 4, 3, 2, 1])
    for (const delivery of deliveries) {
      expect(delivery).toMatchObject({ status: 'delivered', attempts: 1, last_status_code: 200, last_error: null, next_attempt_at: null })
    }
  }, 30_000) // eight waits for the relay

  test('an endpoint gets only the types it subscribed to; a status set to its current value emits nothing', async () => {
    const lows = newReceiver()
    await register(lows.url, ['stock.low'])
    const productId = await insertProduct({ stock: 11, threshold: 10 })
    const order = await call('POST', '/orders', { as: users.customer, body: { product_id: productId, quantity: 2 } })
    await call('PUT', `/orders/${order.body.id}/status`, { as: users.manager, body: { status: 'Pending' } })
    const received = await receive(lows, 1)
    expect(received.map((entry) => JSON.parse(entry.body).type)).toEqual(['stock.low'])
    expect(await query("SELECT event_type FROM webhook_deliveries")).toEqual([{ event_type: 'stock.low' }])
  })

  test('a refused order (insufficient stock, on both paths) emits nothing', async () => {
    const productId = await insertProduct({ stock: 2 })
    const receiver = newReceiver()
    await register(receiver.url)
    const refused = await call('POST', '/orders', { as: users.customer, body: { product_id: productId, quantity: 3 } })
    const keyed = await call('POST', '/orders', { as: users.customer, body: { product_id: productId, quantity: 3 }, headers: { 'idempotency-key': 'k' } })
    expect([refused.status, keyed.status]).toEqual([400, 400])
    await Bun.sleep(500)
    expect(receiver.received).toEqual([])
    expect(await query('SELECT id FROM webhook_deliveries')).toEqual([])
  })

  test('a change rolled back after its rows were written emits nothing; a row written by hand in a committed one emits', async () => {
    const productId = await insertProduct({ stock: 5 })
    const receiver = newReceiver()
    await register(receiver.url, ['stock.changed'])
    const changeThenFail = dataSource.transaction(async (manager) => {
      await manager.query(`INSERT INTO stock_movements (product_id, delta, stock_after, reason) VALUES ($1, 1, 6, 'adjustment')`, [productId])
      await Bun.sleep(1500) // the relay passes while the row exists, uncommitted
      throw new Error('a later step of the change fails')
    })
    await expect(changeThenFail).rejects.toThrow('a later step of the change fails')
    // Any statement that writes the ledger emits, with no code of its own.
    await query(`INSERT INTO stock_movements (product_id, delta, stock_after, reason) VALUES ($1, 2, 7, 'adjustment')`, [productId])
    const received = await receive(receiver, 1)
    expect(received.map((entry) => JSON.parse(entry.body).data.delta)).toEqual([2])
    expect(await query('SELECT event_type, status FROM webhook_deliveries')).toEqual([{ event_type: 'stock.changed', status: 'delivered' }])
  })

  test('a row is relayed once the transaction that wrote it has ended, even when a later transaction committed first', async () => {
    const [early, late] = [await insertProduct({ stock: 5 }), await insertProduct({ stock: 5 })]
    const receiver = newReceiver()
    await register(receiver.url, ['stock.changed'])
    const open = new Client({ connectionString: process.env.DATABASE_URL })
    await open.connect()
    try {
      // The older transaction writes first and stays open; a younger one commits meanwhile, and the relay passes.
      await open.query('BEGIN')
      await open.query(`INSERT INTO stock_movements (product_id, delta, stock_after, reason) VALUES ($1, 1, 6, 'adjustment')`, [early])
      expect((await call('POST', `/products/${late}/stock-adjustments`, { as: users.manager, body: { delta: 2, reason: 'restock' } })).status).toBe(201)
      await Bun.sleep(2500)
      await open.query('COMMIT')
    } finally {
      await open.end()
    }
    const received = await receive(receiver, 2)
    expect(received.map((entry) => JSON.parse(entry.body).data.product_id).sort((a: number, b: number) => a - b)).toEqual([early, late])
    expect(await query('SELECT count(DISTINCT event_id)::int AS events FROM webhook_deliveries')).toEqual([{ events: 2 }])
  }, 15_000)

  test('a transaction left open in another database on the same server does not hold events back', async () => {
    const productId = await insertProduct({ stock: 5 })
    const receiver = newReceiver()
    await register(receiver.url, ['stock.changed'])
    const neighbourUrl = new URL(process.env.DATABASE_URL!)
    neighbourUrl.pathname = '/postgres'
    const neighbour = new Client({ connectionString: neighbourUrl.href })
    await neighbour.connect()
    try {
      // Another application's transaction, older than the change and still open: it has an xid.
      await neighbour.query('BEGIN')
      await neighbour.query('SELECT pg_current_xact_id()')
      expect((await call('POST', `/products/${productId}/stock-adjustments`, { as: users.manager, body: { delta: 2, reason: 'restock' } })).status).toBe(201)
      const received = await receive(receiver, 1)
      expect(received.map((entry) => JSON.parse(entry.body).data.delta)).toEqual([2])
    } finally {
      await neighbour.end()
    }
  }, 15_000)
})

/** inventory_webhook_deliveries_total by outcome, as /metrics shows it (the worker runs in this process). */
async function attemptOutcomes(): Promise<Record<string, number>> {
  const { values } = await webhookDeliveries.get()
  return Object.fromEntries(values.map(({ labels, value }) => [String(labels.outcome), value]))
}

// The first attempt waits for the relay (up to about 2 s), then the retry schedule runs: these take longer than the default 5 s.
describe('delivery', () => {
  test('a worker starts and stops without a warning in the log (its pool is smaller than its concurrency by design)', async () => {
    const warn = spyOn(log, 'warn')
    try {
      const another = await startDeliveryWorker(process.env.DATABASE_URL!)
      await another.stop()
      expect(warn.mock.calls).toEqual([])
    } finally {
      warn.mockRestore()
    }
  })

  test('receiver down (refused, 500, timeout) → retried with growing delays, same webhook-id, delivered once it answers 2xx', async () => {
    const receiver = newReceiver()
    const answers: Array<number | 'hang'> = [500, 'hang', 200]
    receiver.answer = (_, index) => answers[index] ?? 200
    const port = receiver.port
    receiver.stop() // the first attempt finds nothing listening
    const { id: endpointId, secret } = await register(`http://127.0.0.1:${port}/hook`, ['order.created'])
    const productId = await insertProduct({ stock: 5 })
    await call('POST', '/orders', { as: users.customer, body: { product_id: productId, quantity: 1 } })

    const [refused] = await waitFor('the refused attempt', 5000, async () => {
      const [delivery] = await deliveriesOf(endpointId)
      return delivery?.attempts === 1 ? [delivery] : undefined
    })
    expect(refused).toMatchObject({ status: 'pending', attempts: 1, last_status_code: null, last_error: 'Connection refused.' })
    expect(new Date(refused.next_attempt_at!).getTime()).toBeGreaterThan(Date.now() - 1000)
    receiver.start() // same port

    const received = await receive(receiver, 3)
    expect(received.map((entry) => entry.id)).toEqual(Array(3).fill(received[0]!.id))
    for (const entry of received) verify(secret, entry)
    // Test schedule: 100 ms, 500 ms, 2.5 s after each failure; the 'hang' attempt also waits out the 1 s test timeout.
    const gaps = received.slice(1).map((entry, i) => entry.at - received[i]!.at)
    expect(gaps[0]!).toBeGreaterThanOrEqual(450)
    expect(gaps[1]!).toBeGreaterThanOrEqual(3400)
    const [delivered] = await deliveriesOf(endpointId)
    expect(delivered).toMatchObject({ status: 'delivered', attempts: 4, last_status_code: 200, last_error: null, next_attempt_at: null })
    expect(delivered!.delivered_at).not.toBeNull()
  }, 20_000)

  test('an endpoint that keeps failing → failed after the retry window; a re-send delivers it with the same webhook-id; each attempt counted by outcome', async () => {
    const receiver = newReceiver()
    receiver.answer = () => 503
    const countsBefore = await attemptOutcomes()
    const { id: endpointId } = await register(receiver.url, ['order.created'])
    const productId = await insertProduct({ stock: 5 })
    await call('POST', '/orders', { as: users.customer, body: { product_id: productId, quantity: 1 } })
    const failed = await waitFor('the delivery to fail', 15_000, async () => {
      const [delivery] = await deliveriesOf(endpointId)
      return delivery?.status === 'failed' ? delivery : undefined
    }, 200)
    // 100 ms, 500 ms, 2.5 s, then 12.5 s would pass the 10 s test window.
    expect(failed).toMatchObject({ attempts: 4, last_status_code: 503, last_error: 'The endpoint answered 503.', next_attempt_at: null, delivered_at: null })
    expect(receiver.received).toHaveLength(4)

    receiver.answer = () => 204
    const resent = await call('POST', `/webhooks/${endpointId}/deliveries/${failed.id}/retry`, { as: users.admin })
    expect(resent.status).toBe(202)
    expect(resent.body).toMatchObject({ id: failed.id, status: 'pending', attempts: 4 })
    await receive(receiver, 5)
    expect(new Set(receiver.received.map((entry) => entry.id)).size).toBe(1)
    const [delivered] = await deliveriesOf(endpointId)
    expect(delivered).toMatchObject({ status: 'delivered', attempts: 5, last_status_code: 204 })
    const countsAfter = await attemptOutcomes()
    expect(Object.fromEntries(Object.entries(countsAfter).map(([outcome, n]) => [outcome, n - (countsBefore[outcome] ?? 0)]))).toEqual({ retry: 3, failed: 1, delivered: 1 })
    const again = await call('POST', `/webhooks/${endpointId}/deliveries/${failed.id}/retry`, { as: users.admin })
    expect({ status: again.status, body: again.body }).toEqual({
      status: 409,
      body: { error: 'Conflict', message: 'Only a failed delivery can be re-sent; this one is pending or delivered.' },
    })
  }, 20_000)

  test('a redirect is not followed: it counts as a failed attempt', async () => {
    const receiver = newReceiver()
    receiver.answer = () => 302 // to /elsewhere, on this same receiver
    const { id: endpointId } = await register(receiver.url, ['order.created'])
    const productId = await insertProduct({ stock: 5 })
    await call('POST', '/orders', { as: users.customer, body: { product_id: productId, quantity: 1 } })
    const [retried] = await waitFor('two attempts', 5000, async () => {
      const deliveries = await deliveriesOf(endpointId)
      return (deliveries[0]?.attempts ?? 0) >= 2 ? deliveries : undefined
    })
    expect(retried).toMatchObject({ status: 'pending', last_status_code: 302, last_error: 'Redirect (302) not followed.' })
    expect(new Set(receiver.received.map((entry) => entry.path))).toEqual(new Set(['/hook']))
  })

  test('a deleted endpoint receives nothing more', async () => {
    const receiver = newReceiver()
    receiver.answer = () => 500
    const { id: endpointId } = await register(receiver.url, ['order.created'])
    const productId = await insertProduct({ stock: 5 })
    await call('POST', '/orders', { as: users.customer, body: { product_id: productId, quantity: 1 } })
    await receive(receiver, 1)
    expect((await call('DELETE', `/webhooks/${endpointId}`, { as: users.admin })).status).toBe(204)
    const count = receiver.received.length
    await Bun.sleep(1500)
    expect(receiver.received.length).toBe(count)
    // Its deliveries are deleted by the purge job that the DELETE queued.
    await waitFor('its deliveries purged', 5000, async () => ((await query('SELECT id FROM webhook_deliveries')).length ? undefined : true))
  })

  /**
   * The delivery jobs queued now, in the order of their first delivery: each one's payload (delivery
   * id and expected attempt count per element). Not in job id order: add_jobs joins its specs with
   * the library's task table, and the plan it gets decides the order in which the ids are taken.
   */
  const queuedJobs = async () =>
    (await query<{ payload: Array<{ delivery_id: number; attempt: number }> }>(
      // The public view leaves payloads out: read the library's table.
      `SELECT job.payload FROM graphile_worker._private_jobs job JOIN graphile_worker._private_tasks task ON task.id = job.task_id
       WHERE task.identifier = '${DELIVERY_TASK}' ORDER BY (job.payload->0->>'delivery_id')::bigint`,
    )).map((job) => job.payload)

  test(`a burst to one endpoint is queued in jobs of up to ${DELIVERY_BATCH} deliveries; each delivery's attempt is recorded and retried on its own`, async () => {
    const receiver = newReceiver()
    // The first ten requests fail: those deliveries, and only those, are retried.
    receiver.answer = (_, index) => (index < 10 ? 500 : 200)
    const { id: endpointId, secret } = await register(receiver.url, ['order.created'])
    const productId = await insertProduct({ stock: 100 })
    const orders = DELIVERY_BATCH + 5
    // The worker (and with it the relay) stopped: the events wait in the ledger, and the relay is run here, once.
    await worker.stop()
    try {
      for (let i = 0; i < orders; i++) await call('POST', '/orders', { as: users.customer, body: { product_id: productId, quantity: 1 } })
      await dataSource.query(RELAY_MOVEMENT_EVENTS, [500])
      const jobs = await queuedJobs()
      expect(jobs.map((payload) => payload.length)).toEqual([DELIVERY_BATCH, 5])
      expect(jobs.flat()).toEqual(Array.from({ length: orders }, (_, i) => ({ delivery_id: i + 1, attempt: 0 })))
    } finally {
      worker = await startDeliveryWorker(process.env.DATABASE_URL!)
    }
    const received = await receive(receiver, orders + 10)
    for (const entry of received) verify(secret, entry)
    const failedFirst = new Set(received.slice(0, 10).map((entry) => entry.id))
    const retried = received.slice(orders).map((entry) => entry.id)
    expect(new Set(retried)).toEqual(failedFirst)
    expect(new Set(received.map((entry) => entry.id)).size).toBe(orders)

    const deliveries = (await call('GET', `/webhooks/${endpointId}/deliveries?limit=100`, { as: users.admin })).body.items!
    expect(deliveries).toHaveLength(orders)
    for (const delivery of deliveries) {
      expect(delivery).toMatchObject({ status: 'delivered', attempts: failedFirst.has(delivery.event_id!) ? 2 : 1, last_status_code: 200, last_error: null })
    }
  }, 20_000)

  test('a job queued by an earlier version (one delivery, as an object) is still sent', async () => {
    const receiver = newReceiver()
    await register(receiver.url, ['order.created'])
    const productId = await insertProduct({ stock: 5 })
    await worker.stop()
    try {
      await call('POST', '/orders', { as: users.customer, body: { product_id: productId, quantity: 1 } })
      await dataSource.query(RELAY_MOVEMENT_EVENTS, [500])
      await dataSource.query(`SELECT graphile_worker.complete_jobs(array_agg(id)) FROM graphile_worker.jobs WHERE task_identifier = '${DELIVERY_TASK}'`)
      await dataSource.query(`SELECT graphile_worker.add_job('${DELIVERY_TASK}', json_build_object('delivery_id', 1, 'attempt', 0))`)
    } finally {
      worker = await startDeliveryWorker(process.env.DATABASE_URL!)
    }
    const [entry] = await receive(receiver, 1)
    expect(entry!.id).toBe((await query<{ event_id: string }>('SELECT event_id FROM webhook_deliveries WHERE id = 1'))[0]!.event_id)
    expect(await query('SELECT status, attempts FROM webhook_deliveries')).toEqual([{ status: 'delivered', attempts: 1 }])
  })

  test('a backlog is relayed by runs that each stop when told to (their time is up), the next one going on where it stopped', async () => {
    const receiver = newReceiver()
    await register(receiver.url, ['stock.changed'])
    const productId = await insertProduct({ stock: 5 })
    let movements = 0
    await worker.stop()
    try {
      await query(`INSERT INTO stock_movements (product_id, delta, stock_after, reason) SELECT $1, 1, i, 'adjustment' FROM generate_series(1, $2) i`, [productId, 2 * RELAY_BATCH + 7])
      const relay: RelayStatement = async (_name, text, limit) => (await dataSource.query(text, [limit]))[0]?.relayed ?? 0
      const count = async (table: string) => (await query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`))[0]!.n
      movements = await count('stock_movements') // the product's first stock included
      // The relay reads rows below the oldest transaction of this database still running: let any that began before the insert end first (on the whole server, to be sure).
      await waitFor('the movements to be final', 10_000, async () =>
        (await query<{ final: boolean }>('SELECT max(event_xid) < pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS final FROM stock_movements'))[0]!.final || undefined,
      )
      // The product's first movement may have been relayed by the worker before it stopped.
      const relayedBefore = await count('webhook_deliveries')
      // Stopped after its first batch: that batch relayed, the run not finished.
      expect(await relayBacklog(relay, () => true)).toBe(false)
      expect(await count('webhook_deliveries')).toBe(relayedBefore + RELAY_BATCH)
      expect(await relayBacklog(relay, () => false)).toBe(true)
      expect(await count('webhook_deliveries')).toBe(movements)
      expect(await count('(SELECT DISTINCT m.id FROM stock_movements m JOIN webhook_deliveries d ON (d.payload->\'data\'->>\'id\')::bigint = m.id) AS relayed')).toBe(movements)
    } finally {
      worker = await startDeliveryWorker(process.env.DATABASE_URL!)
    }
    expect(new Set((await receive(receiver, movements)).map((entry) => entry.id)).size).toBe(movements)
  })
})
