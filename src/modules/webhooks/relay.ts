import type { JobHelpers } from 'graphile-worker'
import { RELAY_DELIVERIES, RELAY_TASK } from './sql'

/** Deliveries moved into jobs per transaction (one NOTIFY each). */
const RELAY_BATCH = 500
/** How often the relay looks for new deliveries; with the worker's 1 s poll, a first attempt starts within about 2 s. */
export const RELAY_INTERVAL_MS = 1000


/**
 * The graphile-worker task that drains the outbox: the triggers only write delivery rows, this
 * queues their jobs in batches in its own transactions, then schedules its next run.
 */
export async function relayDeliveries(_payload: unknown, helpers: JobHelpers): Promise<void> {
  let relayed: number
  do {
    relayed = (await helpers.withPgClient((client) => client.query<{ relayed: number }>(RELAY_DELIVERIES, [RELAY_BATCH]))).rows[0]?.relayed ?? 0
  } while (relayed === RELAY_BATCH && !helpers.abortSignal?.aborted)
  // preserve_run_at: a relay job another process has just ensured keeps its earlier time.
  await helpers.addJob(RELAY_TASK, {}, { jobKey: RELAY_TASK, jobKeyMode: 'preserve_run_at', runAt: new Date(Date.now() + RELAY_INTERVAL_MS) })
}
