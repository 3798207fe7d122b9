import { config } from '../../config'

/**
 * A delivery job lasts at most the HTTP timeout plus two statements (its deliveries are sent at
 * once), so a job locked longer than this belongs to a process that died (kill -9, a lost machine):
 * the worker's sweep then releases every job of that process (graphile-worker itself would wait 4 hours).
 */
export const STALE_LOCK_MS = config.WEBHOOK_TIMEOUT_MS + 2 * (config.DATABASE_STATEMENT_TIMEOUT_MS || 15_000) + 5000

/**
 * How long a relay or purge run may go on before it hands over to its next run, queued at once.
 * It checks between statements, so a run lasts at most this plus one statement: below
 * STALE_LOCK_MS whatever the timeouts are set to, so a live process's jobs are never released.
 */
export const RUN_BUDGET_MS = 5000
