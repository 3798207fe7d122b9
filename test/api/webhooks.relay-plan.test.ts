/**
 * The relay reads its batch from the cursor, whatever the size of the ledger: EXPLAIN ANALYZE of
 * each ledger statement on 30,000 movements and 30,000 alerts (fresh statistics), with an endpoint
 * subscribed, the cursor at the start and then deep in the table. Each runs in a transaction that
 * is rolled back (the statement writes deliveries, jobs and the cursor). Likewise a delivery job's
 * two statements touch only the job's deliveries among 30,000, planned for each run as the
 * delivery process's sessions plan them (its plan_cache_mode). And what an event writes:
 * recording its attempt updates the delivery on its own page (HOT), and its body's helper
 * functions are inlined.
 */
import { beforeAll, describe, expect, test } from 'bun:test'
import { Client } from 'pg'
import { dataSource } from '../../src/db/data-source'
import { DELIVERY_BATCH, PENDING_DELIVERIES, RECORD_ATTEMPTS, RELAY_ALERT_EVENTS, RELAY_MOVEMENT_EVENTS } from '../../src/modules/webhooks/sql'
import { QUEUE_PLAN_CACHE_MODE } from '../../src/modules/webhooks/worker'
import { insertProduct } from '../support/fixtures'
import { resetDatabase } from '../support/helpers'
import { planNodes } from '../support/plans'

const ROWS = 30_000
const BATCH = 500

/** Rows each scan of the ledger table handed up or filtered out, and the sorts' inputs, in one run of the statement. */
async function planOf(statement: string, source: string, cursorAfterRow: number) {
  const runner = dataSource.createQueryRunner()
  await runner.startTransaction()
  try {
    const [after] = await runner.query(`SELECT event_xid, id FROM ${source} ORDER BY event_xid, id OFFSET $1 LIMIT 1`, [cursorAfterRow])
    await runner.query('UPDATE webhook_relay_cursors SET xid = $2, id = $3 WHERE source = $1', [source, after.event_xid, after.id])
    const [row] = await runner.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${statement}`, [BATCH])
    const plan = planNodes(row['QUERY PLAN'][0].Plan)
    const [relayed] = await runner.query('SELECT count(*)::int AS deliveries FROM webhook_deliveries')
    return {
      deliveries: relayed.deliveries as number,
      scans: plan
        .filter((node) => node['Relation Name'] === source && node['Node Type'].includes('Scan'))
        .map((node) => ({ type: node['Node Type'], read: (node['Actual Rows'] + (node['Rows Removed by Filter'] ?? 0)) * node['Actual Loops'] })),
      sorted: plan.filter((node) => node['Node Type'].endsWith('Sort')).map((node) => (node.Plans ?? []).reduce((sum, child) => sum + child['Actual Rows'], 0)),
    }
  } finally {
    await runner.rollbackTransaction()
    await runner.release()
  }
}

beforeAll(async () => {
  await resetDatabase()
  const productId = await insertProduct({ stock: 5 })
  await dataSource.query(`INSERT INTO webhook_endpoints (url, events, secret, created_at) VALUES ('http://127.0.0.1:9/unused', '{stock.changed,order.created,stock.low}', 'whsec_unused', now() - interval '1 hour')`)
  await dataSource.query(`INSERT INTO stock_movements (product_id, delta, stock_after, reason) SELECT $1, 1, i, 'adjustment' FROM generate_series(1, ${ROWS}) i`, [productId])
  await dataSource.query(`INSERT INTO alerts (product_id, stock, threshold) SELECT $1, 1, 10 FROM generate_series(1, ${ROWS}) i`, [productId])
  await dataSource.query('VACUUM ANALYZE stock_movements, alerts')
}, 60_000)

describe('webhook relay plans', () => {
  for (const [label, statement, source] of [
    ['movements', RELAY_MOVEMENT_EVENTS, 'stock_movements'],
    ['alerts', RELAY_ALERT_EVENTS, 'alerts'],
  ] as const) {
    for (const [where, cursorAfterRow] of [['from the start', 0], ['deep in the table', ROWS - 2 * BATCH]] as const) {
      test(`${label}, ${where}: one batch read by the (event_xid, id) index, no sort of the table`, async () => {
        const { deliveries, scans, sorted } = await planOf(statement, source, cursorAfterRow)
        expect(deliveries).toBe(BATCH)
        expect(scans.map((scan) => scan.type)).toEqual(['Index Scan'])
        expect(scans[0]!.read).toBeLessThanOrEqual(BATCH)
        for (const rows of sorted) expect(rows).toBeLessThanOrEqual(2 * BATCH)
      })
    }
  }
})

describe('delivery job plans', () => {
  const ids = Array.from({ length: DELIVERY_BATCH }, (_, i) => ROWS / 2 + i)
  const list = (values: unknown[], type: string) => `'{${values.join(',')}}'::${type}[]`
  const zeros = list(ids.map(() => 0), 'int')

  /** The deliveries table's scans in one run of the prepared statement with the job's arguments, planned as the delivery process plans it. */
  async function deliveryScans(statement: string, args: string) {
    const runner = dataSource.createQueryRunner()
    await runner.startTransaction()
    try {
      await runner.query(`SET LOCAL plan_cache_mode = ${QUEUE_PLAN_CACHE_MODE}`)
      await runner.query(`PREPARE job_statement AS ${statement}`)
      const [row] = await runner.query(`EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE job_statement(${args})`)
      await runner.query('DEALLOCATE job_statement')
      return planNodes(row['QUERY PLAN'][0].Plan)
        .filter((node) => node['Relation Name'] === 'webhook_deliveries' && node['Node Type'].includes('Scan'))
        .map((node) => ({ type: node['Node Type'], read: (node['Actual Rows'] + (node['Rows Removed by Filter'] ?? 0)) * node['Actual Loops'] }))
    } finally {
      await runner.rollbackTransaction()
      await runner.release()
    }
  }

  beforeAll(async () => {
    const [endpoint] = await dataSource.query(`SELECT id FROM webhook_endpoints`)
    await dataSource.query(
      `INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, payload, queued)
       SELECT $1, 'evt_' || i, 'stock.changed', '{}', true FROM generate_series(1, ${ROWS}) i`,
      [endpoint.id],
    )
    await dataSource.query('VACUUM ANALYZE webhook_deliveries')
  }, 60_000)

  test(`reading a job's ${DELIVERY_BATCH} deliveries: by primary key, ${DELIVERY_BATCH} rows`, async () => {
    const scans = await deliveryScans(PENDING_DELIVERIES, `${list(ids, 'bigint')}, ${zeros}`)
    expect(scans.map((scan) => scan.type)).toEqual(['Index Scan'])
    expect(scans[0]!.read).toBe(DELIVERY_BATCH)
  })

  test(`recording a job's ${DELIVERY_BATCH} attempts, half of them with a retry: by primary key, ${DELIVERY_BATCH} rows`, async () => {
    const retryAt = ids.map((_, i) => (i % 2 ? 'NULL' : `"${new Date(Date.now() + 60_000).toISOString()}"`))
    const args = [
      list(ids, 'bigint'),
      zeros,
      list(ids.map((_, i) => (i % 2 ? 200 : 500)), 'int'),
      list(ids.map((_, i) => (i % 2 ? 'NULL' : '"The endpoint answered 500."')), 'text'),
      list(ids.map((_, i) => i % 2 === 1), 'boolean'),
      list(retryAt, 'timestamptz'),
    ].join(', ')
    const scans = await deliveryScans(RECORD_ATTEMPTS, args)
    expect(scans.map((scan) => scan.type)).toEqual(['Index Scan'])
    expect(scans[0]!.read).toBe(DELIVERY_BATCH)
  })
})

describe('what an event costs the database', () => {
  test(`a job's recorded attempts are HOT updates: each delivered row stays on its page, with no new index entry`, async () => {
    // One session throughout: it flushes its own table statistics before each reading.
    const session = new Client({ connectionString: process.env.DATABASE_URL })
    await session.connect()
    try {
      const updates = async () => {
        await session.query('SELECT pg_stat_force_next_flush()')
        const [row] = (await session.query(`SELECT n_tup_upd::int AS all, n_tup_hot_upd::int AS hot FROM pg_stat_user_tables WHERE relname = 'webhook_deliveries'`)).rows
        return row as { all: number; hot: number }
      }
      // 100 deliveries with the relay's own event bodies: the last 100 movements relayed, for good.
      const [after] = await dataSource.query(`SELECT event_xid, id FROM stock_movements ORDER BY event_xid DESC, id DESC OFFSET 100 LIMIT 1`)
      await session.query(`UPDATE webhook_relay_cursors SET xid = $1, id = $2 WHERE source = 'stock_movements'`, [after.event_xid, after.id])
      const { rows: relayed } = await session.query(RELAY_MOVEMENT_EVENTS, [BATCH])
      expect(relayed[0].relayed).toBe(100)
      const { rows } = await session.query<{ id: string }>(`SELECT id FROM webhook_deliveries WHERE attempts = 0 AND status = 'pending' AND queued ORDER BY id DESC LIMIT 100`)
      const ids = rows.map((row) => row.id).reverse()
      const before = await updates()
      for (let i = 0; i < ids.length; i += DELIVERY_BATCH) {
        const job = ids.slice(i, i + DELIVERY_BATCH)
        await session.query(RECORD_ATTEMPTS, [job, job.map(() => 0), job.map(() => 200), job.map(() => null), job.map(() => true), job.map(() => null)])
      }
      const recorded = await updates()
      expect({ all: recorded.all - before.all, hot: recorded.hot - before.hot }).toEqual({ all: 100, hot: 100 })
      expect((await session.query(`SELECT count(*)::int AS n FROM webhook_deliveries WHERE id = ANY ($1) AND status = 'delivered'`, [ids])).rows).toEqual([{ n: 100 }])
    } finally {
      await session.end()
    }
  })

  test('the event bodies\' helpers (iso_utc, webhook_product) are inlined, not called per field', async () => {
    const [row] = await dataSource.query(`EXPLAIN (VERBOSE, FORMAT JSON) SELECT iso_utc(m.created_at), webhook_product(p.id, p.sku, p.name) FROM stock_movements m JOIN products p ON p.id = m.product_id`)
    const output = planNodes(row['QUERY PLAN'][0].Plan).flatMap((node) => node.Output ?? []).join(' ')
    expect(output).toContain('to_char(')
    expect(output).toContain('json_build_object(')
    expect(output).not.toContain('iso_utc(')
    expect(output).not.toContain('webhook_product(')
  })
})
