import type { JobHelpers } from 'graphile-worker'
import { Webhook } from 'standardwebhooks'
import { z } from 'zod'
import { config } from '../../config'
import { log } from '../../http/logger'
import { webhookDeliveries } from '../metrics/registry'
import { PENDING_DELIVERIES, RECORD_ATTEMPTS } from './sql'
import { checkDestination, fetchChecked, type Destination } from './url-safety'

const attempt = z.object({ delivery_id: z.coerce.string(), attempt: z.int().min(0) })
// A job lists the deliveries it sends; a job queued by an earlier version names one, as an object.
const jobPayload = z.union([z.array(attempt), attempt.transform((one) => [one])])

interface PendingDelivery {
  id: string
  attempts: number
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

/** What the attempts of one job share: sent at once, they carry one timestamp and end at one deadline (the timeout, or shutdown). */
interface Sending {
  sentAt: Date
  deadline: AbortSignal
  shutdown: AbortSignal
}

/**
 * One signed POST, per the Standard Webhooks specification: the event id is the `webhook-id` of
 * every attempt, the timestamp is this attempt's. A 2xx within the timeout is a success; a
 * redirect is not followed. `shutdown` aborts it when the process stops (the job is then retried).
 */
async function attemptDelivery(target: PendingDelivery, signer: Webhook, destination: Destination, { sentAt: now, deadline, shutdown }: Sending): Promise<AttemptOutcome> {
  if (destination.refusal) return { delivered: false, statusCode: null, error: destination.refusal }
  const body = JSON.stringify(target.payload)
  try {
    const response = await fetchChecked(target.url, destination, {
      method: 'POST',
      body,
      redirect: 'manual',
      signal: deadline,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'inventory-api-webhooks',
        'webhook-id': target.event_id,
        'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
        'webhook-signature': signer.sign(target.event_id, now, body),
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

/**
 * The graphile-worker task: one attempt of each delivery of the job (one endpoint's, sent at once),
 * recorded with their retries in one statement. An attempt the shutdown aborts is not recorded,
 * and the job fails after recording the others: graphile-worker runs it again later, and the
 * deliveries already recorded are then skipped as stale.
 */
export async function deliverWebhooks(payload: unknown, helpers: JobHelpers): Promise<void> {
  const jobs = jobPayload.parse(payload)
  const { rows: targets } = await helpers.withPgClient((client) =>
    client.query<PendingDelivery>({
      name: 'webhook_pending_deliveries',
      text: PENDING_DELIVERIES,
      values: [jobs.map((job) => job.delivery_id), jobs.map((job) => job.attempt)],
    }),
  )
  if (!targets.length) return // delivered, failed, deleted, or a stale copy of a job that has already run
  // The endpoint's host is resolved and checked once for the job (every target has the same URL, unless it was just changed),
  // and its attempts go to the address checked.
  const urls = [...new Set(targets.map((target) => target.url))]
  const destinations = new Map(await Promise.all(urls.map(async (url) => [url, await checkDestination(url)] as const)))
  // One signer per secret (decoding it costs as much as a signature).
  const signers = new Map([...new Set(targets.map((target) => target.secret))].map((secret) => [secret, new Webhook(secret)]))
  const sending: Sending = {
    sentAt: new Date(),
    deadline: AbortSignal.any([AbortSignal.timeout(config.WEBHOOK_TIMEOUT_MS), helpers.abortSignal]),
    shutdown: helpers.abortSignal,
  }
  const settled = await Promise.allSettled(
    targets.map((target) => attemptDelivery(target, signers.get(target.secret)!, destinations.get(target.url)!, sending)),
  )
  // Retries are counted from the end of the attempts (a timeout included).
  const now = new Date()
  const made = targets.flatMap((target, i) => {
    const result = settled[i]!
    if (result.status === 'rejected') return []
    const retryAt = result.value.delivered ? null : nextAttemptAt(target.created_at, target.attempts + 1, now)
    return [{ target, outcome: result.value, retryAt }]
  })
  if (made.length) {
    const { rows } = await helpers.withPgClient((client) =>
      client.query<{ id: string; status: 'delivered' | 'pending' | 'failed' }>({
        name: 'webhook_record_attempts',
        text: RECORD_ATTEMPTS,
        values: [
          made.map((m) => m.target.id),
          made.map((m) => m.target.attempts),
          made.map((m) => m.outcome.statusCode),
          made.map((m) => m.outcome.error),
          made.map((m) => m.outcome.delivered),
          made.map((m) => m.retryAt),
        ],
      }),
    )
    // Rows only for the attempts recorded here: another copy of the job may have recorded some first.
    for (const { id, status } of rows) {
      webhookDeliveries.inc({ outcome: status === 'pending' ? 'retry' : status })
      if (status === 'failed') {
        const failed = made.find((m) => m.target.id === id)!
        log.warn('webhook delivery failed', { delivery_id: id, attempts: failed.target.attempts + 1, error: failed.outcome.error })
      }
    }
  }
  const aborted = settled.find((result) => result.status === 'rejected')
  if (aborted) throw aborted.reason
}
