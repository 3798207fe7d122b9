import { log } from './http/logger'

/**
 * Waits for one step of a shutdown, at most `ms`: true when it settled in time. A step that talks
 * to PostgreSQL would otherwise wait forever on a server that stopped answering (frozen, or cut off
 * by the network): pg's end() waits for the server to close the connection. A step that runs out
 * of time is logged and makes the exit code 1; the process still exits.
 */
export async function settleWithin(ms: number, step: string, work: Promise<unknown>): Promise<boolean> {
  let timer: Timer | undefined
  const timedOut = new Promise<'timed out'>((resolve) => (timer = setTimeout(() => resolve('timed out'), ms)))
  const outcome = await Promise.race([work.then(() => 'done' as const, (error: unknown) => error), timedOut])
  clearTimeout(timer)
  if (outcome === 'done') return true
  process.exitCode = 1
  if (outcome === 'timed out') log.warn('shutdown step did not finish in time; going on without it', { step, ms })
  else log.warn('shutdown step failed; going on without it', { step, error: String(outcome) })
  return false
}
