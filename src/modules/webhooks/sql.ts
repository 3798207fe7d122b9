/** The delivery statements, shared by the API (re-send) and the worker (attempts). */

export const DELIVERY_TASK = 'webhook_delivery'

/** Queues the job for a delivery's next attempt; a job carries the attempt count it expects, so a stale copy does nothing. */
export const queueAttempt = (deliveryId: string, attemptsMade: string, runAt: string) =>
  `graphile_worker.add_job('${DELIVERY_TASK}', json_build_object('delivery_id', ${deliveryId}, 'attempt', ${attemptsMade}), run_at => ${runAt})`

export const PUBLIC_DELIVERY_COLUMNS = `id, event_id, event_type, status, attempts, last_status_code, last_error, next_attempt_at, delivered_at, created_at`

/** A failed delivery back to pending, and its job queued, in one statement: two concurrent re-sends queue one job. */
export const RESEND_FAILED = `
  WITH resent AS (
    UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = now(), last_error = NULL
    WHERE id = $2 AND endpoint_id = $1 AND status = 'failed'
    RETURNING ${PUBLIC_DELIVERY_COLUMNS}
  ), queued AS (SELECT (${queueAttempt('id', 'attempts', 'now()')}).id FROM resent)
  SELECT resent.* FROM resent, (SELECT count(*) FROM queued) AS job`

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
