import type { JobHelpers } from 'graphile-worker'
import { Webhook } from 'standardwebhooks'
import { z } from 'zod'
import { config } from '../../config'
import { log } from '../../http/logger'
import { webhookDeliveries } from '../metrics/registry'
import { PENDING_DELIVERY, RECORD_ATTEMPT } from './sql'
import { refusalOf } from './url-safety'

const jobPayload = z.object({ delivery_id: z.coerce.string(), attempt: z.int().min(0) })

interface PendingDelivery {
  event_id: string
  payload: unknown
  created_at: Date
  url: string
  secret: string
}

interface AttemptOutcome {
  delivered: boolean
  statusCode: number | null
  error: string | null
}

const RETRY_GROWTH = 5
const LONGEST_RETRY_MS = 6 * 3_600_000

/**
 * When the attempt after `attemptsMade` failed ones is due, or null when it would fall outside the
 * retry window: with the defaults 5 s, 25 s, ~2 min, ~10 min, ~52 min, ~4.3 h, then every 6 h,
 * until 24 h after the event.
 */
function nextAttemptAt(eventAt: Date, attemptsMade: number, now = new Date()): Date | null {
  const delay = Math.min(config.WEBHOOK_RETRY_BASE_MS * RETRY_GROWTH ** (attemptsMade - 1), LONGEST_RETRY_MS)
  const due = now.getTime() + delay
  return due <= eventAt.getTime() + config.WEBHOOK_RETRY_WINDOW_MS ? new Date(due) : null
}

function describeFailure(error: unknown): string {
  if (error instanceof DOMException && error.name === 'TimeoutError') return `No answer within ${config.WEBHOOK_TIMEOUT_MS} ms.`
  const code = (error as { code?: unknown }).code
  return code === 'ConnectionRefused' || code === 'ECONNREFUSED' ? 'Connection refused.' : `The request failed (${typeof code === 'string' ? code : 'network error'}).`
}

/**
 * One signed POST, per the Standard Webhooks specification: the event id is the `webhook-id` of
 * every attempt, the timestamp is this attempt's. A 2xx within the timeout is a success; a
 * redirect is not followed. `shutdown` aborts it when the process stops (the job is then retried).
 */
async function attemptDelivery(target: PendingDelivery, shutdown: AbortSignal): Promise<AttemptOutcome> {
  const refusal = await refusalOf(target.url)
  if (refusal) return { delivered: false, statusCode: null, error: refusal }
  const body = JSON.stringify(target.payload)
  const now = new Date()
  try {
    const response = await fetch(target.url, {
      method: 'POST',
      body,
      redirect: 'manual',
      signal: AbortSignal.any([AbortSignal.timeout(config.WEBHOOK_TIMEOUT_MS), shutdown]),
      headers: {
        'content-type': 'application/json',
        'user-agent': 'inventory-api-webhooks',
        'webhook-id': target.event_id,
        'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
        'webhook-signature': new Webhook(target.secret).sign(target.event_id, now, body),
      },
    })
    await response.body?.cancel()
    if (response.status >= 200 && response.status < 300) return { delivered: true, statusCode: response.status, error: null }
    const error = response.status >= 300 && response.status < 400 ? `Redirect (${response.status}) not followed.` : `The endpoint answered ${response.status}.`
    return { delivered: false, statusCode: response.status, error }
  } catch (error) {
    if (shutdown.aborted) throw error
    return { delivered: false, statusCode: null, error: describeFailure(error) }
  }
}

/** The graphile-worker task: one attempt of one delivery, recorded with its retry in one statement. */
export async function deliverWebhook(payload: unknown, helpers: JobHelpers): Promise<void> {
  const job = jobPayload.parse(payload)
  const [target] = (await helpers.withPgClient((client) => client.query<PendingDelivery>(PENDING_DELIVERY, [job.delivery_id, job.attempt]))).rows
  if (!target) return // delivered, failed, deleted, or a stale copy of a job that has already run
  const outcome = await attemptDelivery(target, helpers.abortSignal)
  const retryAt = outcome.delivered ? null : nextAttemptAt(target.created_at, job.attempt + 1)
  const { rows } = await helpers.withPgClient((client) =>
    client.query<{ status: 'delivered' | 'pending' | 'failed' }>(RECORD_ATTEMPT, [
      job.delivery_id,
      job.attempt,
      outcome.statusCode,
      outcome.error,
      outcome.delivered,
      retryAt,
    ]),
  )
  const status = rows[0]?.status
  if (!status) return // another copy of this job recorded the attempt first
  webhookDeliveries.inc({ outcome: status === 'pending' ? 'retry' : status })
  if (status === 'failed') log.warn('webhook delivery failed', { delivery_id: job.delivery_id, attempts: job.attempt + 1, error: outcome.error })
}
