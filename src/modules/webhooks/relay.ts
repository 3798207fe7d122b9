import type { JobHelpers } from 'graphile-worker'
import { RELAY_ALERT_EVENTS, RELAY_DELIVERIES, RELAY_MOVEMENT_EVENTS, RELAY_TASK } from './sql'

/** Rows (ledger rows, or unqueued deliveries) relayed per transaction (one NOTIFY each). */
const RELAY_BATCH = 500
/** How often the relay looks for new events; with the worker's 1 s poll, a first attempt starts within about 2 s. */
export const RELAY_INTERVAL_MS = 1000

/** Named: each connection parses and plans them once, not on every run. */
const RELAY_STATEMENTS = [
  ['webhook_relay_movements', RELAY_MOVEMENT_EVENTS],
  ['webhook_relay_alerts', RELAY_ALERT_EVENTS],
  ['webhook_relay_deliveries', RELAY_DELIVERIES],
] as const

/**
 * The graphile-worker task that feeds the queue: new movements and alerts become deliveries with
 * their jobs, and deliveries written unqueued (status changes, re-sends) get theirs, each in batches
 * in transactions of their own; then it schedules its next run.
 */
export async function relayDeliveries(_payload: unknown, helpers: JobHelpers): Promise<void> {
  for (const [name, text] of RELAY_STATEMENTS) {
    let relayed: number
    do {
      relayed = (await helpers.withPgClient((client) => client.query<{ relayed: number }>({ name, text, values: [RELAY_BATCH] }))).rows[0]?.relayed ?? 0
    } while (relayed === RELAY_BATCH && !helpers.abortSignal?.aborted)
  }
  // preserve_run_at: a relay job another process has just ensured keeps its earlier time.
  await helpers.addJob(RELAY_TASK, {}, { jobKey: RELAY_TASK, jobKeyMode: 'preserve_run_at', runAt: new Date(Date.now() + RELAY_INTERVAL_MS) })
}
