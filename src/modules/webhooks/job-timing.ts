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

/** In-flight sends get this long when the worker stops; their jobs are then released for a retry elsewhere. */
export const SEND_ABORT_MS = 1000

/**
 * The longest a worker's stop may take: the aborted sends, then releasing their jobs and closing its
 * pool. Past it the process stops anyway, as after kill -9: the lock sweep releases its jobs.
 */
export const WORKER_STOP_MS = SEND_ABORT_MS + 2000
