/**
 * Deleting an endpoint and keeping the delivery log bounded: DELETE /webhooks/{id} deletes the
 * endpoint row alone, at once, and the purge job (graphile-worker, on the test PostgreSQL) then
 * deletes its deliveries in batches; finished deliveries past the retention go the same way. And
 * the purge's statements read what they delete, never the table: EXPLAIN ANALYZE on 30,000
 * deliveries.
 */
import { beforeEach, describe, expect, test } from 'bun:test'
import { Client } from 'pg'
import { dataSource } from '../../src/db/data-source'
import { PURGE_BATCH, purgeDeliveries } from '../../src/modules/webhooks/purge'
import { PURGE_DELETED_ENDPOINT_DELIVERIES, PURGE_EXPIRED_DELIVERIES } from '../../src/modules/webhooks/sql'
import { startDeliveryWorker } from '../../src/modules/webhooks/worker'
import { waitFor } from '../faults/harness'
import { call, query, resetDatabase, type Seeded } from '../support/helpers'
import { planNodes } from '../support/plans'

let users: Seeded

beforeEach(async () => {
  users = await resetDatabase()
})

/** An endpoint written directly (its URL is never called: these tests send nothing). */
async function insertEndpoint(): Promise<number> {
  const [row] = await query<{ id: number }>(
    `INSERT INTO webhook_endpoints (url, events, secret) VALUES ('http://127.0.0.1:9/unused', '{stock.changed}', 'whsec_unused') RETURNING id`,
  )
  return row!.id
}

/** `count` deliveries of an endpoint, `daysAgo` old, with the given status. */
async function insertDeliveries(endpointId: number, count: number, status: 'pending' | 'delivered' | 'failed', daysAgo = 0) {
  await query(
    `INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, payload, status, attempts, queued, created_at)
     SELECT $1, 'evt_' || md5(random()::text), 'stock.changed', '{}', $3, 1, true, now() - make_interval(days => $4)
     FROM generate_series(1, $2)`,
    [endpointId, count, status, daysAgo],
  )
}

const deliveryCounts = async () =>
  Object.fromEntries(
    (await query<{ endpoint_id: number; status: string; old: boolean; n: number }>(
      `SELECT endpoint_id, status, created_at < now() - interval '30 days' AS old, count(*)::int AS n
       FROM webhook_deliveries GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
    )).map((row) => [`${row.endpoint_id} ${row.status}${row.old ? ' old' : ''}`, row.n]),
  )

/** The purge as the job runs it, on the test's connection pool. */
const purge = (retentionDays: number, stop?: () => boolean) =>
  purgeDeliveries((text, values) => dataSource.query(text, values).then((rows) => rows[0]), retentionDays, stop)

describe('DELETE /webhooks/{id}', () => {
  test('answers 204 at once even while a job holds one of its deliveries; the purge job then deletes them all, and only them', async () => {
    const deleted = await insertEndpoint()
    const kept = await insertEndpoint()
    await insertDeliveries(deleted, PURGE_BATCH + 2_500, 'delivered')
    await insertDeliveries(kept, 10, 'delivered')
    // A delivery job recording its attempts holds its deliveries' rows until it commits.
    const job = new Client({ connectionString: process.env.DATABASE_URL })
    await job.connect()
    const worker = await startDeliveryWorker(process.env.DATABASE_URL!)
    try {
      await job.query('BEGIN')
      await job.query('SELECT id FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY id LIMIT 25 FOR UPDATE', [deleted])
      // Deleting the deliveries with the endpoint would wait for that job: the answer would not come.
      const answer = await Promise.race([call('DELETE', `/webhooks/${deleted}`, { as: users.admin }), Bun.sleep(3000).then(() => 'no answer within 3 s')])
      expect(typeof answer === 'string' ? answer : answer.status).toBe(204)
      expect((await call('GET', `/webhooks/${deleted}`, { as: users.admin })).status).toBe(404)
      expect((await call('GET', `/webhooks/${deleted}/deliveries`, { as: users.admin })).body).toEqual({
        error: 'Webhook not found',
        message: `The webhook with ID ${deleted} does not exist.`,
      })
      await job.query('COMMIT')
      await waitFor('the deleted endpoint’s deliveries purged', 15_000, async () => ((await deliveryCounts())[`${deleted} delivered`] ? undefined : true))
    } finally {
      await job.end()
      await worker.stop()
    }
    expect(await deliveryCounts()).toEqual({ [`${kept} delivered`]: 10 })
    expect((await call('GET', `/webhooks/${kept}/deliveries`, { as: users.admin })).body.total).toBe(10)
  }, 30_000)

  test('a failed delivery of a deleted endpoint cannot be re-sent before it is purged: 404, and it stays failed', async () => {
    const endpointId = await insertEndpoint()
    await insertDeliveries(endpointId, 1, 'failed')
    const deliveryId = (await query<{ id: number }>('SELECT id::int FROM webhook_deliveries'))[0]!.id
    expect((await call('DELETE', `/webhooks/${endpointId}`, { as: users.admin })).status).toBe(204)
    // No worker runs here: the delivery is still in the table.
    const retry = await call('POST', `/webhooks/${endpointId}/deliveries/${deliveryId}/retry`, { as: users.admin })
    expect(retry.status).toBe(404)
    expect(retry.body).toEqual({ error: 'Webhook not found', message: `The webhook with ID ${endpointId} does not exist.` })
    expect(await query('SELECT status, queued FROM webhook_deliveries')).toEqual([{ status: 'failed', queued: true }])
  })
})

describe('the purge', () => {
  test('deletes deleted endpoints’ deliveries and, past the retention, finished ones; pending and recent ones stay', async () => {
    const endpointId = await insertEndpoint()
    const gone = await insertEndpoint()
    // More old ones than a batch: the sweep goes on until it reaches recent deliveries.
    await insertDeliveries(endpointId, PURGE_BATCH + 1_000, 'delivered', 40)
    await insertDeliveries(endpointId, 7, 'failed', 31)
    await insertDeliveries(endpointId, 3, 'pending', 35)
    await insertDeliveries(endpointId, 5, 'delivered', 29)
    await insertDeliveries(endpointId, 4, 'failed', 1)
    await insertDeliveries(endpointId, 2, 'pending')
    await insertDeliveries(gone, 6, 'pending')
    await query('DELETE FROM webhook_endpoints WHERE id = $1', [gone])

    expect(await purge(0)).toEqual({ deletedEndpoints: 6, expired: 0, finished: true })
    expect(await deliveryCounts()).toEqual({
      [`${endpointId} delivered`]: 5,
      [`${endpointId} delivered old`]: PURGE_BATCH + 1_000,
      [`${endpointId} failed`]: 4,
      [`${endpointId} failed old`]: 7,
      [`${endpointId} pending`]: 2,
      [`${endpointId} pending old`]: 3,
    })
    expect(await purge(30)).toEqual({ deletedEndpoints: 0, expired: PURGE_BATCH + 1_007, finished: true })
    expect(await deliveryCounts()).toEqual({
      [`${endpointId} delivered`]: 5,
      [`${endpointId} failed`]: 4,
      [`${endpointId} pending`]: 2,
      [`${endpointId} pending old`]: 3,
    })
    expect(await purge(30)).toEqual({ deletedEndpoints: 0, expired: 0, finished: true })
  })

  test('a run stopped early says so, and the next one goes on', async () => {
    const endpointId = await insertEndpoint()
    await insertDeliveries(endpointId, PURGE_BATCH + 10, 'delivered')
    await query('DELETE FROM webhook_endpoints WHERE id = $1', [endpointId])
    expect(await purge(30, () => true)).toEqual({
      deletedEndpoints: PURGE_BATCH,
      expired: 0,
      finished: false,
    })
    expect(await purge(30)).toEqual({ deletedEndpoints: 10, expired: 0, finished: true })
    expect(await deliveryCounts()).toEqual({})
  })
})

describe('the purge’s plans on 30,000 deliveries', () => {
  const ROWS = 30_000

  /** EXPLAIN ANALYZE in a transaction that is rolled back: the rows each scan of webhook_deliveries read, and whether anything was sorted. */
  async function planOf(statement: string, values: unknown[]) {
    const runner = dataSource.createQueryRunner()
    await runner.startTransaction()
    try {
      const [row] = await runner.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${statement}`, values)
      const plan = planNodes(row['QUERY PLAN'][0].Plan)
      return {
        scans: plan
          .filter((node) => node['Relation Name'] === 'webhook_deliveries' && node['Node Type'].includes('Scan'))
          .map((node) => ({ type: node['Node Type'], read: (node['Actual Rows'] + (node['Rows Removed by Filter'] ?? 0)) * node['Actual Loops'] })),
        sorts: plan.filter((node) => node['Node Type'].endsWith('Sort')).length,
      }
    } finally {
      await runner.rollbackTransaction()
      await runner.release()
    }
  }

  const read = (scans: Array<{ read: number }>) => scans.reduce((sum, scan) => sum + scan.read, 0)

  test('with three endpoints, one of them deleted: its batch by the (endpoint_id, id) index, the others one probe each', async () => {
    const endpoints = [await insertEndpoint(), await insertEndpoint(), await insertEndpoint()]
    for (const endpointId of endpoints) await insertDeliveries(endpointId, ROWS / 3, 'delivered')
    await query('DELETE FROM webhook_endpoints WHERE id = $1', [endpoints[1]])
    await query('VACUUM ANALYZE webhook_deliveries')
    const { scans, sorts } = await planOf(PURGE_DELETED_ENDPOINT_DELIVERIES, [1000])
    expect(scans.every((scan) => scan.type !== 'Seq Scan')).toBe(true)
    expect(sorts).toBe(0)
    // The batch itself (1,000) and its rows found again to delete them (1,000), and a few probes.
    expect(read(scans)).toBeLessThan(2 * 1000 + 10)
  }, 30_000)

  test('retention: the sweep reads its batch by the primary key, and with nothing to delete stops at the first recent delivery', async () => {
    const endpointId = await insertEndpoint()
    await insertDeliveries(endpointId, ROWS / 2, 'delivered', 40)
    await insertDeliveries(endpointId, ROWS / 2, 'delivered')
    await query('VACUUM ANALYZE webhook_deliveries')
    const expiring = await planOf(PURGE_EXPIRED_DELIVERIES, ['0', 1000, 30])
    expect(expiring.scans.every((scan) => scan.type !== 'Seq Scan')).toBe(true)
    expect(expiring.sorts).toBe(0)
    expect(read(expiring.scans)).toBeLessThan(2 * 1000 + 10)

    // Past the old ones: one batch of recent deliveries is read (and looked up to be kept), and the sweep stops there.
    const lastOld = (await query<{ last_old: string }>(`SELECT max(id)::text AS last_old FROM webhook_deliveries WHERE created_at < now() - interval '30 days'`))[0]!.last_old
    const recent = await planOf(PURGE_EXPIRED_DELIVERIES, [lastOld, 1000, 30])
    expect(recent.scans.every((scan) => scan.type !== 'Seq Scan')).toBe(true)
    expect(read(recent.scans)).toBeLessThan(2 * 1000 + 10)
    const [batch] = await query(PURGE_EXPIRED_DELIVERIES, [lastOld, 1000, 30])
    expect(batch).toEqual({ last_id: String(Number(lastOld) + 1000), read: 1000, reached_recent: true, purged: 0 })
  }, 30_000)
})
