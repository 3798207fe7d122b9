import type { EntityManager } from 'typeorm'
import { log } from '../http/logger'
import { dataSource } from './data-source'

/**
 * Claims the job's row when its interval has passed since the last run (by anyone), in one
 * statement: of all the processes that tick at about the same time, exactly one moves it.
 */
const CLAIM = `
  INSERT INTO scheduled_jobs AS job (name, last_run_at, runs) VALUES ($1, now(), 1)
  ON CONFLICT (name) DO UPDATE SET last_run_at = now(), runs = job.runs + 1
  WHERE job.last_run_at <= now() - make_interval(secs => $2)
  RETURNING runs`

/**
 * Runs `job` every `intervalSeconds` across every process sharing the database: each process
 * checks a few times per interval, and only the one that claims the row runs it, in the claim's
 * transaction (a failed run gives the turn back). The timer does not keep the process alive.
 */
export function runPeriodically(name: string, intervalSeconds: number, job: (manager: EntityManager) => Promise<void>) {
  const tick = async () => {
    await dataSource.transaction(async (manager) => {
      const claimed: unknown[] = await manager.query(CLAIM, [name, intervalSeconds])
      if (claimed.length > 0) await job(manager)
    })
  }
  // Checking 4 times per interval keeps a run at most a quarter interval late.
  const timer = setInterval(() => {
    tick().catch((error) => log.warn('scheduled job failed', { job: name, error: String(error) }))
  }, (intervalSeconds * 1000) / 4)
  timer.unref()
}
