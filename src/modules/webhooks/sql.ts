import type { ListStatement } from '../../http/pagination'
import type { EventType } from './webhook-endpoint.entity'

/** The delivery statements, shared by the API (lists, re-send) and the worker (attempts). */

export const DELIVERY_TASK = 'webhook_delivery'
export const RELAY_TASK = 'webhook_relay'
export const PURGE_TASK = 'webhook_purge'

/**
 * Deliveries sent by one job: at most this many, all to one endpoint, sent at once. The queue's
 * statements (add, lock, complete) and the attempts' record are paid once per batch, not per event.
 */
export const DELIVERY_BATCH = 25

export const PUBLIC_DELIVERY_COLUMNS = `id, event_id, event_type, status, attempts, last_status_code, last_error, next_attempt_at, delivered_at, created_at`

/** Oldest first, the columns under the entity's field names; secrets are never selected. */
export const WEBHOOK_LIST: ListStatement = {
  from: 'webhook_endpoints e',
  conditions: [],
  params: [],
  select: 'e.id, e.url, e.events, e.description, e.created_at AS "createdAt"',
  order: { key: null, id: 'e.id', descending: false },
}

/** An endpoint's deliveries, newest first, on the (endpoint_id, id) index. */
export const deliveryList = (endpointId: number): ListStatement => ({
  from: 'webhook_deliveries d',
  conditions: ['d.endpoint_id = $1'],
  params: [endpointId],
  select: PUBLIC_DELIVERY_COLUMNS.split(', ').map((column) => `d.${column}`).join(', '),
  order: { key: null, id: 'd.id', descending: true },
})

/**
 * A failed delivery back to pending and to the relay, which queues its next attempt: two concurrent
 * re-sends change one row once. Not one of a deleted endpoint (its deliveries wait for the purge).
 */
export const RESEND_FAILED = `
  WITH resent AS (
    UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = now(), last_error = NULL, queued = false
    WHERE id = $2 AND endpoint_id = $1 AND status = 'failed' AND EXISTS (SELECT FROM webhook_endpoints WHERE id = $1)
    RETURNING ${PUBLIC_DELIVERY_COLUMNS}
  )
  SELECT * FROM resent`

/**
 * graphile-worker jobs for the next attempt of the deliveries in `rows` (a CTE of id, endpoint_id,
 * attempts, run_at; run_at NULL for now), in one add_jobs call (one NOTIFY): deliveries due at the
 * same time to the same endpoint share a job, DELIVERY_BATCH at most. A job's payload lists each
 * delivery with the attempt count it expects.
 */
const addAttemptJobs = (rows: string) => `
  SELECT graphile_worker.add_jobs(array_agg(ROW('${DELIVERY_TASK}', batch.payload, NULL, batch.run_at, NULL, NULL, NULL, NULL)::graphile_worker.job_spec)) AS job
  FROM (
    SELECT json_agg(json_build_object('delivery_id', id, 'attempt', attempts) ORDER BY id) AS payload, run_at
    FROM (SELECT *, (row_number() OVER (PARTITION BY endpoint_id, run_at ORDER BY id) - 1) / ${DELIVERY_BATCH} AS part FROM ${rows} AS r) AS numbered
    GROUP BY endpoint_id, run_at, part
  ) AS batch
  HAVING count(*) > 0`

/**
 * Moves up to $1 unqueued deliveries (status changes, re-sends) into their attempt's jobs and marks
 * them queued, in one transaction. SKIP LOCKED lets several processes relay at once without ever
 * queueing one delivery twice.
 */
export const RELAY_DELIVERIES = `
  WITH batch AS (
    SELECT id FROM webhook_deliveries WHERE queued = false ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED
  ), marked AS (
    UPDATE webhook_deliveries d SET queued = true FROM batch WHERE d.id = batch.id RETURNING d.id, d.endpoint_id, d.attempts, NULL::timestamptz AS run_at
  ), queued AS (${addAttemptJobs('marked')})
  SELECT count(*)::int AS relayed FROM queued`

/** The largest bigint: a cursor at (xid, LAST_ID) has read every row of transaction xid. */
const LAST_ID = '9223372036854775807'

/**
 * Turns up to $1 new rows of a ledger table into events, their deliveries (one per endpoint
 * subscribed to the type when the event happened) and the deliveries' jobs, and moves the table's
 * cursor past them, in one statement (so one transaction: a crash leaves the cursor where it was,
 * and the rows are relayed again, never half).
 *
 * A row is read only once the transaction that wrote it has ended: `event_xid` below the oldest
 * transaction of this database still running is final, committed or gone, and every later row
 * will carry a larger xid. Transactions are those of the statement's snapshot; one that
 * pg_stat_activity shows connected to another database cannot write these rows, so it does not
 * count (one it no longer shows, having just ended, or whose database it cannot tell, does).
 * Rows are read in (event_xid, id) order from the cursor on the (event_xid, id) index, so a pass
 * costs its batch whatever the table's size; a batch that is not full moves the cursor to the
 * horizon. The cursor row is locked SKIP LOCKED: two processes relaying at once never read the
 * same rows (a cursor moved by a relay that committed after this statement's snapshot is read as
 * it is now, and never moved back). With no endpoint subscribed to the table's types, the cursor
 * just moves on.
 *
 * `events` selects (type, at, data) from `batch`; `at` is the event's time (the row's created_at,
 * which is its transaction's start).
 */
const ledgerRelay = (source: 'stock_movements' | 'alerts', types: readonly EventType[], events: string) => `
  WITH cursor AS (
    SELECT xid, id FROM webhook_relay_cursors WHERE source = '${source}' FOR UPDATE SKIP LOCKED
  ), horizon AS (
    -- The oldest transaction of this database still running (or, with none, the next to start).
    -- The snapshot's xmin alone would also wait for other databases' transactions on the server.
    SELECT coalesce(
      (SELECT min(running::text::bigint) FROM pg_snapshot_xip(snapshot) running
        WHERE running::xid NOT IN (SELECT backend_xid FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND datname <> current_database())),
      pg_snapshot_xmax(snapshot)::text::bigint) AS xid
    FROM pg_current_snapshot() snapshot
  ), batch AS MATERIALIZED (
    SELECT r.* FROM ${source} r
    WHERE (r.event_xid, r.id) > ((SELECT xid FROM cursor), (SELECT id FROM cursor))
      AND r.event_xid < (SELECT xid FROM horizon)
      AND EXISTS (SELECT FROM webhook_endpoints WHERE events && '{${types.join(',')}}'::varchar[])
    ORDER BY r.event_xid, r.id LIMIT $1
  ), event AS MATERIALIZED (
    SELECT 'evt_' || replace(gen_random_uuid()::text, '-', '') AS id, type, at, data FROM (${events}) AS made
  ), delivery AS (
    INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, payload, queued)
    SELECT endpoint.id, event.id, event.type,
      json_build_object('id', event.id, 'type', event.type, 'timestamp', iso_utc(event.at), 'data', event.data), true
    FROM event JOIN webhook_endpoints endpoint ON event.type = ANY (endpoint.events) AND endpoint.created_at <= event.at
    RETURNING id, endpoint_id, attempts, NULL::timestamptz AS run_at
  ), queued AS (${addAttemptJobs('delivery')}
  ), reached AS (
    SELECT event_xid AS xid, id FROM batch WHERE (SELECT count(*) FROM batch) = $1 ORDER BY event_xid DESC, id DESC LIMIT 1
  ), next AS (
    SELECT coalesce((SELECT xid FROM reached), (SELECT xid - 1 FROM horizon)) AS xid, coalesce((SELECT id FROM reached), ${LAST_ID}) AS id
  ), advanced AS (
    -- Forward only: a relay that committed after this statement's snapshot may have moved it further.
    UPDATE webhook_relay_cursors c SET xid = next.xid, id = next.id
    FROM next, cursor
    WHERE c.source = '${source}' AND (next.xid, next.id) > (cursor.xid, cursor.id)
  )
  -- queued is read here so that it runs: a CTE that only SELECTs runs when something reads it.
  SELECT (SELECT count(*) FROM batch)::int AS relayed, (SELECT count(*) FROM queued)::int AS queued`

/** Movements and alerts after the relay's cursors: rows whose events are not yet deliveries (how far behind the relay is). */
export const UNRELAYED_ROWS = `SELECT (
  (SELECT count(*) FROM stock_movements m, webhook_relay_cursors c WHERE c.source = 'stock_movements' AND (m.event_xid, m.id) > (c.xid, c.id))
  + (SELECT count(*) FROM alerts a, webhook_relay_cursors c WHERE c.source = 'alerts' AND (a.event_xid, a.id) > (c.xid, c.id)))::int AS n`

/** The product as events show it. */
const PRODUCT = 'webhook_product(p.id, p.sku, p.name)'

/**
 * Movements: `stock.changed` for each, and `order.created` for each `order` movement (placing an
 * order writes exactly one; PLACE_ORDER is the only way an order is placed, always Pending, so the
 * order as it was created is its row with that status and updated_at = created_at, whatever has
 * changed since).
 */
export const RELAY_MOVEMENT_EVENTS = ledgerRelay(
  'stock_movements',
  ['stock.changed', 'order.created'],
  `SELECT 'stock.changed' AS type, m.created_at AS at,
      json_build_object('id', m.id, 'product_id', m.product_id, 'delta', m.delta, 'stock_after', m.stock_after, 'reason', m.reason,
        'note', m.note, 'user_id', m.user_id, 'order_id', m.order_id, 'created_at', iso_utc(m.created_at), 'product', ${PRODUCT}) AS data
    FROM batch m JOIN products p ON p.id = m.product_id
    UNION ALL
    SELECT 'order.created', o.created_at,
      json_build_object('id', o.id, 'product_id', o.product_id, 'user_id', o.user_id, 'quantity', o.quantity, 'status', 'Pending',
        'created_at', iso_utc(o.created_at), 'updated_at', iso_utc(o.created_at), 'product', ${PRODUCT})
    FROM batch m JOIN orders o ON o.id = m.order_id JOIN products p ON p.id = o.product_id
    WHERE m.reason = 'order'`,
)

/** Alerts: `stock.low` for each. */
export const RELAY_ALERT_EVENTS = ledgerRelay(
  'alerts',
  ['stock.low'],
  `SELECT 'stock.low' AS type, a.created_at AS at,
      json_build_object('id', a.id, 'product_id', a.product_id, 'product_name', p.name, 'stock', a.stock, 'threshold', a.threshold,
        'order_id', a.order_id, 'created_at', iso_utc(a.created_at), 'product', ${PRODUCT}) AS data
    FROM batch a JOIN products p ON p.id = a.product_id`,
)

/**
 * The one relay job, by its key: \`preserve_run_at\` leaves a pending one's time alone, so every
 * process ensures it at start and now and then; if the job is locked by a process that died,
 * graphile-worker adds a new one beside it, so the relay never stays stopped.
 */
export const ENSURE_RELAY = `SELECT FROM graphile_worker.add_job('${RELAY_TASK}', '{}', job_key => '${RELAY_TASK}', job_key_mode => 'preserve_run_at')`

/** The purge job likewise: it reschedules itself, and every process ensures it is there. */
export const ENSURE_PURGE = `SELECT FROM graphile_worker.add_job('${PURGE_TASK}', '{}', job_key => '${PURGE_TASK}', job_key_mode => 'preserve_run_at')`

/**
 * Up to $1 deliveries of one deleted endpoint, deleted (the purge job runs it until it deletes none).
 * The endpoints that deliveries name are found by a loose scan of the (endpoint_id, id) index, one
 * probe per endpoint whatever the number of deliveries, and the first one that no longer exists is
 * purged, its deliveries read from the same index.
 */
export const PURGE_DELETED_ENDPOINT_DELIVERIES = `
  WITH RECURSIVE named AS (
    (SELECT endpoint_id AS id FROM webhook_deliveries ORDER BY endpoint_id LIMIT 1)
    UNION ALL
    SELECT (SELECT d.endpoint_id FROM webhook_deliveries d WHERE d.endpoint_id > named.id ORDER BY d.endpoint_id LIMIT 1)
    FROM named WHERE named.id IS NOT NULL
  ), deleted AS (
    SELECT named.id FROM named WHERE named.id IS NOT NULL AND NOT EXISTS (SELECT FROM webhook_endpoints e WHERE e.id = named.id) LIMIT 1
  ), batch AS (
    SELECT d.id FROM webhook_deliveries d WHERE d.endpoint_id = (SELECT id FROM deleted) ORDER BY d.endpoint_id, d.id LIMIT $1
  ), purged AS (
    -- By the primary key: a join with the batch would be planned as a scan of the table.
    DELETE FROM webhook_deliveries d WHERE d.id = ANY (ARRAY(SELECT id FROM batch)) RETURNING 1
  )
  SELECT count(*)::int AS purged FROM purged`

/**
 * The retention sweep, one batch: the next $2 deliveries after id $1 in id order (the order they
 * were written in, so the oldest first), of which those finished (delivered or failed) before the
 * last $3 days are deleted; pending ones stay whatever their age (a re-sent old delivery). The sweep
 * stops at the first batch that reaches a recent delivery, so it reads what it deletes and one batch
 * more, never the table. The conditions are on the row itself, so a re-send that commits first
 * (failed → pending) keeps its delivery.
 */
export const PURGE_EXPIRED_DELIVERIES = `
  WITH batch AS (
    SELECT id, created_at FROM webhook_deliveries WHERE id > $1 ORDER BY id LIMIT $2
  ), purged AS (
    DELETE FROM webhook_deliveries d
    WHERE d.id = ANY (ARRAY(SELECT id FROM batch)) AND d.status <> 'pending' AND d.created_at < now() - make_interval(days => $3)
    RETURNING 1
  )
  SELECT max(id)::text AS last_id, count(*)::int AS read, coalesce(bool_or(created_at >= now() - make_interval(days => $3)), false) AS reached_recent,
    (SELECT count(*) FROM purged)::int AS purged
  FROM batch`

/** Queues the purge to run now (a DELETE /webhooks/{id}, in its transaction), or after the one running. */
export const QUEUE_PURGE = `SELECT FROM graphile_worker.add_job('${PURGE_TASK}', '{}', job_key => '${PURGE_TASK}')`

/** What a job's attempts need ($1 delivery ids, $2 the attempt counts the job expects): only the deliveries still pending at that count. */
export const PENDING_DELIVERIES = `
  SELECT d.id, d.attempts, d.event_id, d.payload, d.created_at, e.url, e.secret
  FROM unnest($1::bigint[], $2::int[]) AS job(id, attempts)
  JOIN webhook_deliveries d ON d.id = job.id AND d.attempts = job.attempts AND d.status = 'pending'
  JOIN webhook_endpoints e ON e.id = d.endpoint_id`

/**
 * Records a job's attempts (one element per delivery in each array: id, the attempt count it was
 * made at, status code, error, delivered, the next attempt's time or NULL when no retry remains)
 * and queues the next attempts of those still pending, in one statement: a crash between the two
 * cannot lose a retry or queue it twice. A delivery another copy of the job has recorded first is
 * left alone (its attempt count moved on) and not returned.
 */
export const RECORD_ATTEMPTS = `
  WITH outcome AS (
    SELECT * FROM unnest($1::bigint[], $2::int[], $3::int[], $4::text[], $5::boolean[], $6::timestamptz[])
      AS o(id, attempts, status_code, error, delivered, retry_at)
  ), attempt AS (
    UPDATE webhook_deliveries d SET
      attempts = d.attempts + 1,
      last_status_code = o.status_code,
      last_error = o.error,
      status = CASE WHEN o.delivered THEN 'delivered' WHEN o.retry_at IS NULL THEN 'failed' ELSE 'pending' END,
      delivered_at = CASE WHEN o.delivered THEN now() END,
      next_attempt_at = CASE WHEN o.delivered THEN NULL ELSE o.retry_at END
    FROM outcome o
    WHERE d.id = o.id AND d.attempts = o.attempts AND d.status = 'pending'
    RETURNING d.id, d.endpoint_id, d.attempts, d.status, d.next_attempt_at AS run_at
  ), queued AS (${addAttemptJobs("(SELECT * FROM attempt WHERE status = 'pending')")})
  -- queued is read here so that it runs.
  SELECT id, status, (SELECT count(*) FROM queued)::int AS queued FROM attempt`
