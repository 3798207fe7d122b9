import type { ListStatement } from '../../http/pagination'

/** The delivery statements, shared by the API (lists, re-send) and the worker (attempts). */

export const DELIVERY_TASK = 'webhook_delivery'
export const RELAY_TASK = 'webhook_relay'

/** Queues the job for a delivery's next attempt; a job carries the attempt count it expects, so a stale copy does nothing. */
export const queueAttempt = (deliveryId: string, attemptsMade: string, runAt: string) =>
  `graphile_worker.add_job('${DELIVERY_TASK}', json_build_object('delivery_id', ${deliveryId}, 'attempt', ${attemptsMade}), run_at => ${runAt})`

export const PUBLIC_DELIVERY_COLUMNS = `id, event_id, event_type, status, attempts, last_status_code, last_error, next_attempt_at, delivered_at, created_at`

/** Oldest first; secrets are never selected. */
export const WEBHOOK_LIST: ListStatement = {
  from: 'webhook_endpoints e',
  conditions: [],
  params: [],
  select: 'e.id, e.url, e.events, e.description, e.created_at',
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

/** A failed delivery back to pending and to the relay, which queues its next attempt: two concurrent re-sends change one row once. */
export const RESEND_FAILED = `
  WITH resent AS (
    UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = now(), last_error = NULL, queued = false
    WHERE id = $2 AND endpoint_id = $1 AND status = 'failed'
    RETURNING ${PUBLIC_DELIVERY_COLUMNS}
  )
  SELECT * FROM resent`

/**
 * Moves up to $1 unqueued deliveries into their first (or re-sent) attempt's jobs and marks them
 * queued, in one transaction: add_jobs NOTIFYs once for the batch. SKIP LOCKED lets several
 * processes relay at once without ever queueing one delivery twice.
 */
export const RELAY_DELIVERIES = `
  WITH batch AS (
    SELECT id FROM webhook_deliveries WHERE queued = false ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED
  ), marked AS (
    UPDATE webhook_deliveries d SET queued = true FROM batch WHERE d.id = batch.id RETURNING d.id, d.attempts
  ), queued AS (
    SELECT graphile_worker.add_jobs(array_agg(ROW('${DELIVERY_TASK}', json_build_object('delivery_id', id, 'attempt', attempts),
      NULL, NULL, NULL, NULL, NULL, NULL)::graphile_worker.job_spec)) AS job
    FROM marked HAVING count(*) > 0
  )
  SELECT count(*)::int AS relayed FROM queued`

/**
 * The one relay job, by its key: \`preserve_run_at\` leaves a pending one's time alone, so every
 * process ensures it at start and now and then; if the job is locked by a process that died,
 * graphile-worker adds a new one beside it, so the relay never stays stopped.
 */
export const ENSURE_RELAY = `SELECT FROM graphile_worker.add_job('${RELAY_TASK}', '{}', job_key => '${RELAY_TASK}', job_key_mode => 'preserve_run_at')`

/** What an attempt needs: only while the delivery is pending at the attempt count the job expects. */
export const PENDING_DELIVERY = `
  SELECT d.event_id, d.payload, d.created_at, e.url, e.secret
  FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
  WHERE d.id = $1 AND d.attempts = $2 AND d.status = 'pending'`

/**
 * Records an attempt and, while retries remain ($6 is the next attempt's time), queues the next
 * one, in one statement: a crash between the two cannot lose the retry or queue it twice.
 */
export const RECORD_ATTEMPT = `
  WITH attempt AS (
    UPDATE webhook_deliveries SET
      attempts = attempts + 1,
      last_status_code = $3,
      last_error = $4,
      status = CASE WHEN $5 THEN 'delivered' WHEN $6::timestamptz IS NULL THEN 'failed' ELSE 'pending' END,
      delivered_at = CASE WHEN $5 THEN now() END,
      next_attempt_at = CASE WHEN $5 THEN NULL ELSE $6::timestamptz END
    WHERE id = $1 AND attempts = $2 AND status = 'pending'
    RETURNING id, attempts, status, next_attempt_at
  ), queued AS (SELECT (${queueAttempt('id', 'attempts', 'next_attempt_at')}).id FROM attempt WHERE status = 'pending')
  SELECT attempt.status, (SELECT count(*) FROM queued) AS queued FROM attempt`
