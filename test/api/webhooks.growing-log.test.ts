/**
 * The delivery log starts empty (a new installation, or after the purge) and grows by thousands of
 * rows a minute in an order storm. The delivery process's statements are prepared once per
 * connection; a plan PostgreSQL cached for them while the table was nearly empty (a scan of the
 * whole table, the cheapest way to read a few rows) must not stay once the table is large: a job's
 * delivery, run by the real worker, reads its own rows by primary key, not the whole log.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startDeliveryWorker } from '../../src/modules/webhooks/worker'
import { waitFor } from '../faults/harness'
import { insertProduct } from '../support/fixtures'
import { call, query, resetDatabase, type Seeded } from '../support/helpers'
import { Receiver } from '../support/webhook-receiver'

/** Each endpoint's delivery of one event is a job of its own: many jobs while the log holds few rows. */
const ENDPOINTS = 25
const LOG_ROWS = 30_000

let users: Seeded
const receiver = new Receiver()

beforeAll(async () => {
  users = await resetDatabase()
  receiver.start()
})

afterAll(() => receiver.stop())

/** Rows read by scans of the whole webhook_deliveries table, as the statistics have them (sessions flush theirs when they end). */
const deliveriesReadByScans = async () =>
  (await query<{ n: number }>(`SELECT seq_tup_read::int AS n FROM pg_stat_user_tables WHERE relname = 'webhook_deliveries'`))[0]!.n

test(`a delivery job reads its own rows, not the whole log, once the log has grown from empty to ${LOG_ROWS.toLocaleString('en')} rows`, async () => {
  const productId = await insertProduct({ stock: 100 })
  for (let i = 0; i < ENDPOINTS; i++) {
    expect((await call('POST', '/webhooks', { as: users.admin, body: { url: `${receiver.url}/${i}`, events: ['stock.changed'] } })).status).toBe(201)
  }
  const adjust = async (events: number) => {
    expect((await call('POST', `/products/${productId}/stock-adjustments`, { as: users.manager, body: { delta: 1, reason: 'restock' } })).status).toBe(201)
    await waitFor(`${events} deliveries`, 15_000, async () => (receiver.received.length >= events ? true : undefined))
  }
  const worker = await startDeliveryWorker(process.env.DATABASE_URL!)
  let before: number
  try {
    // 100 jobs while the log holds at most 100 rows: every connection of the worker runs the
    // statements often enough for PostgreSQL to settle on a cached plan.
    for (let round = 1; round <= 4; round++) await adjust(round * ENDPOINTS)
    const [endpoint] = await query<{ id: number }>('SELECT min(id) AS id FROM webhook_endpoints')
    await query(
      `INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, payload, status, attempts, queued, delivered_at)
       SELECT $1, 'evt_' || md5(i::text), 'stock.changed', '{}', 'delivered', 1, true, now() FROM generate_series(1, $2::int) i`,
      [endpoint!.id, LOG_ROWS],
    )
    before = await deliveriesReadByScans()
    await adjust(5 * ENDPOINTS)
  } finally {
    await worker.stop()
  }
  await waitFor('the worker’s sessions ended (their statistics flushed)', 10_000, async () =>
    (await query(`SELECT 1 FROM pg_stat_activity WHERE application_name = 'inventory-webhooks'`)).length === 0 ? true : undefined,
  )
  await Bun.sleep(500)
  // Before the fix, each of the last round's jobs read all 30,000 rows, twice (about 1.5 million).
  expect((await deliveriesReadByScans()) - before).toBeLessThan(LOG_ROWS)
  expect(receiver.received.length).toBe(5 * ENDPOINTS)
}, 60_000)
