import type { JobHelpers } from 'graphile-worker'
import { RUN_BUDGET_MS } from './job-timing'
import { RELAY_ALERT_EVENTS, RELAY_DELIVERIES, RELAY_MOVEMENT_EVENTS, RELAY_TASK } from './sql'

/** Rows (ledger rows, or unqueued deliveries) relayed per transaction (one NOTIFY each). */
export const RELAY_BATCH = 500
/** How often the relay looks for new events; with the worker's 1 s poll, a first attempt starts within about 2 s. */
export const RELAY_INTERVAL_MS = 1000

/** Named: each connection parses them once, not on every run (and plans each run: see queuePool). */
const RELAY_STATEMENTS = [
  ['webhook_relay_movements', RELAY_MOVEMENT_EVENTS],
  ['webhook_relay_alerts', RELAY_ALERT_EVENTS],
  ['webhook_relay_deliveries', RELAY_DELIVERIES],
] as const

/** Runs a named relay statement for a batch of `limit` rows, and gives how many it relayed. */
export type RelayStatement = (name: string, text: string, limit: number) => Promise<number>

/**
 * New movements and alerts become deliveries with their jobs, and deliveries written unqueued
 * (status changes, re-sends) get theirs, each in batches in transactions of their own, until none
 * is left (true) or `stop()` says so (false).
 */
export async function relayBacklog(relay: RelayStatement, stop: () => boolean): Promise<boolean> {
  for (const [name, text] of RELAY_STATEMENTS) {
    while ((await relay(name, text, RELAY_BATCH)) === RELAY_BATCH) {
      if (stop()) return false
    }
  }
  return true
}

/**
 * The graphile-worker task that feeds the queue: one run of the relay, then its next (at once if
 * this one stopped early: a backlog, the delivery processes having been down a while, is relayed by
 * several short runs, none held long enough to pass for a dead process's job).
 */
export async function relayDeliveries(_payload: unknown, helpers: JobHelpers): Promise<void> {
  const deadline = Date.now() + RUN_BUDGET_MS
  const relay: RelayStatement = async (name, text, limit) =>
    (await helpers.withPgClient((client) => client.query<{ relayed: number }>({ name, text, values: [limit] }))).rows[0]?.relayed ?? 0
  const finished = await relayBacklog(relay, () => Boolean(helpers.abortSignal?.aborted) || Date.now() > deadline)
  // preserve_run_at: a relay job another process has just ensured keeps its earlier time.
  await helpers.addJob(RELAY_TASK, {}, { jobKey: RELAY_TASK, jobKeyMode: 'preserve_run_at', runAt: new Date(Date.now() + (finished ? RELAY_INTERVAL_MS : 0)) })
}
