import type { JobHelpers } from 'graphile-worker'
import { config } from '../../config'
import { log } from '../../http/logger'
import { RUN_BUDGET_MS } from './job-timing'
import { PURGE_DELETED_ENDPOINT_DELIVERIES, PURGE_EXPIRED_DELIVERIES, PURGE_TASK } from './sql'

/** Deliveries deleted per statement (one transaction each): tens of milliseconds, whatever the backlog. */
export const PURGE_BATCH = 10_000
/** How often the purge runs by itself; a DELETE /webhooks/{id} queues it at once. */
const PURGE_INTERVAL_MS = 15 * 60_000

/** Runs a statement that answers exactly one row (both purge statements are aggregates), and gives it. */
type QueryOne = <Row>(text: string, values: unknown[]) => Promise<Row>

export interface Purged {
  deletedEndpoints: number
  expired: number
  /** False when the run stopped early (its time, or shutdown) with more to delete. */
  finished: boolean
}

/**
 * Deletes, a batch per transaction, the deliveries of deleted endpoints, then (unless
 * `retentionDays` is 0) the deliveries finished more than `retentionDays` days ago, until none is
 * left or `stop()` says so. Safe in several processes at once: a row is deleted once.
 */
export async function purgeDeliveries(queryOne: QueryOne, retentionDays: number, stop = () => false): Promise<Purged> {
  const purged: Purged = { deletedEndpoints: 0, expired: 0, finished: false }
  for (;;) {
    const { purged: count } = await queryOne<{ purged: number }>(PURGE_DELETED_ENDPOINT_DELIVERIES, [PURGE_BATCH])
    purged.deletedEndpoints += count
    if (count === 0) break
    if (stop()) return purged
  }
  if (retentionDays > 0) {
    let after = '0'
    for (;;) {
      const batch = await queryOne<{ last_id: string | null; read: number; reached_recent: boolean; purged: number }>(PURGE_EXPIRED_DELIVERIES, [after, PURGE_BATCH, retentionDays])
      purged.expired += batch.purged
      if (batch.reached_recent || batch.read < PURGE_BATCH) break
      if (stop()) return purged
      after = batch.last_id!
    }
  }
  purged.finished = true
  return purged
}

/** The graphile-worker task: one run of the purge, then the next (at once if this one stopped early). */
export async function purgeDeliveriesTask(_payload: unknown, helpers: JobHelpers): Promise<void> {
  const queryOne: QueryOne = (text, values) => helpers.withPgClient(async (client) => (await client.query({ text, values })).rows[0])
  const deadline = Date.now() + RUN_BUDGET_MS
  const purged = await purgeDeliveries(queryOne, config.WEBHOOK_DELIVERY_RETENTION_DAYS, () => Boolean(helpers.abortSignal?.aborted) || Date.now() > deadline)
  if (purged.deletedEndpoints || purged.expired) log.info('webhook deliveries purged', { deleted_endpoints: purged.deletedEndpoints, expired: purged.expired, finished: purged.finished })
  const next = purged.finished ? PURGE_INTERVAL_MS : 0
  await helpers.addJob(PURGE_TASK, {}, { jobKey: PURGE_TASK, jobKeyMode: 'preserve_run_at', runAt: new Date(Date.now() + next) })
}
