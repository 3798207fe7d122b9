import { Logger, run, runMigrations, type LogLevel, type Runner } from 'graphile-worker'
import pg from 'pg'
import { config } from '../../config'
import { log } from '../../http/logger'
import { settleWithin } from '../../shutdown'
import { deliverWebhooks } from './delivery'
import { SEND_ABORT_MS, STALE_LOCK_MS, WORKER_STOP_MS } from './job-timing'
import { relayDeliveries } from './relay'
import { purgeDeliveriesTask } from './purge'
import { DELIVERY_TASK, ENSURE_PURGE, ENSURE_RELAY, PURGE_TASK, RELAY_TASK } from './sql'

/**
 * graphile-worker warns at every start that its pool is smaller than its concurrency. Here that is by
 * design (WEBHOOK_POOL_SIZE, 4, for WEBHOOK_CONCURRENCY, 10, jobs: a job holds a connection for its
 * two statements, not while it sends), so it is no warning for an operator to chase.
 */
const POOL_SMALLER_BY_DESIGN = /^WARNING: having maxPoolSize \(\d+\) smaller than concurrency/

/** graphile-worker's chatter ("completed task …") at debug, its warnings and errors as ours. */
const queueLogger = new Logger(() => (level: LogLevel, message: string) => {
  if (level === 'error') log.error('webhook queue', { detail: message })
  else if (level === 'warning' && !POOL_SMALLER_BY_DESIGN.test(message)) log.warn('webhook queue', { detail: message })
  else log.debug('webhook queue', { detail: message })
})

/**
 * The queue's sessions plan each run of a prepared statement for the tables as they are then: the
 * delivery log and the job queue swing from empty to hundreds of thousands of rows, and a plan
 * PostgreSQL cached while they were small (reading the whole table) would otherwise stay, making
 * every job read the whole log (test "a delivery job reads its own rows…").
 */
export const QUEUE_PLAN_CACHE_MODE = 'force_custom_plan'

/** A pool of the queue's own; graphile-worker asks for error handlers on the pool and on each client, so that a lost connection is logged, not thrown. */
function queuePool(databaseUrl: string, max: number) {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max,
    application_name: 'inventory-webhooks',
    options: `-c plan_cache_mode=${QUEUE_PLAN_CACHE_MODE}`,
  })
  const onError = (error: Error) => log.warn('webhook queue connection lost', { error: String(error) })
  pool.on('error', onError)
  pool.on('connect', (client) => client.on('error', onError))
  return pool
}

/** Installs or upgrades the graphile_worker schema with the library's own migrator (the relay queues jobs in it). */
export async function migrateQueue(databaseUrl: string): Promise<void> {
  const pool = queuePool(databaseUrl, 1)
  try {
    await runMigrations({ pgPool: pool, logger: queueLogger })
  } finally {
    await pool.end()
  }
}

const UNLOCK_DEAD_WORKERS = `
  SELECT graphile_worker.force_unlock_workers(array_agg(DISTINCT locked_by))
  FROM graphile_worker.jobs
  WHERE task_identifier IN ('${DELIVERY_TASK}', '${RELAY_TASK}', '${PURGE_TASK}') AND locked_at < now() - make_interval(secs => $1 / 1000.0)
  HAVING count(*) > 0`

const CONNECTION_LOST_CODES = new Set(['57P01', '57P02', '57P03', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE'])
const isConnectionLoss = (reason: unknown) =>
  reason instanceof Error &&
  (CONNECTION_LOST_CODES.has(String((reason as { code?: unknown }).code)) || /Connection terminated|not queryable/.test(reason.message))

/**
 * When PostgreSQL restarts, graphile-worker leaves a few of its queries' rejections unhandled (seen
 * under Bun; it reconnects and carries on by itself): those must not end the process. Any other
 * unhandled rejection still does.
 */
function survivingLostConnections(reason: unknown) {
  if (!isConnectionLoss(reason)) throw reason
  log.warn('webhook queue connection lost', { error: String(reason) })
}

/**
 * A runner that has neither fetched jobs nor finished one for longer than any job lasts has stopped
 * working: it polls every second while idle, and while busy one of its jobs ends within that time.
 */
const STUCK_AFTER_MS = STALE_LOCK_MS

/**
 * Runs the delivery worker in this process (the delivery process, src/delivery.ts, or with
 * WEBHOOK_WORKER=inline each serving process), on a small pool of its own: every one of them, in
 * every replica, takes jobs from the same queue, and graphile-worker locks each job for one of them.
 * New jobs arrive through LISTEN/NOTIFY; retries and the relay's next run (jobs due later) are
 * found by polling. The process ensures the relay and purge jobs exist at start and at every lock sweep.
 *
 * A PostgreSQL restart can leave graphile-worker's runner dead or stuck while the process lives on:
 * it ends the runner when its worker pool fails (a completion refused by a database shutting down),
 * and a runner whose first fetch failed keeps that failure as its list of tasks and fails every
 * fetch after it; and a runner was seen to stop fetching, silently, after the database came back.
 * Either way no webhook would be sent again, so a runner that ends unasked, or that has neither
 * fetched nor finished a job for STUCK_AFTER_MS, is replaced by a new one (at the lock sweep).
 */
export async function startDeliveryWorker(databaseUrl: string): Promise<{ stop: () => Promise<void> }> {
  const pool = queuePool(databaseUrl, config.WEBHOOK_POOL_SIZE)
  let runner: Runner | undefined
  let lastWorked = Date.now()
  let stopping = false
  let replacing = false

  const startRunner = async () => {
    const started = await run({
      pgPool: pool,
      concurrency: config.WEBHOOK_CONCURRENCY,
      noHandleSignals: true,
      // Poll at least as often as the first retry is due, and every second at most: the relay's next run is found by polling.
      pollInterval: Math.min(1000, config.WEBHOOK_RETRY_BASE_MS),
      // On shutdown, in-flight sends are aborted after this; their jobs are retried by another process.
      gracefulShutdownAbortTimeout: SEND_ABORT_MS,
      logger: queueLogger,
      parsedCronItems: [],
      taskList: { [DELIVERY_TASK]: deliverWebhooks, [RELAY_TASK]: relayDeliveries, [PURGE_TASK]: purgeDeliveriesTask },
      // graphile-worker's own batching: jobs are locked and fetched a batch at a time, and completions
      // are written together, instead of two statements per job. A process that dies with a batch
      // locked has it released by the lock sweep below, as it has its in-flight jobs.
      preset: { worker: { localQueue: { size: config.WEBHOOK_CONCURRENCY * 2 }, completeJobBatchDelay: 20 } },
    })
    const working = () => (lastWorked = Date.now())
    working()
    started.events.on('localQueue:getJobs:complete', working)
    started.events.on('job:complete', working)
    const ended = (how: string) => {
      if (runner === started) void replaceRunner(`the runner stopped${how}`)
    }
    started.promise.then(() => ended(''), (error) => ended(`: ${error}`))
    return started
  }

  async function replaceRunner(reason: string) {
    if (stopping || replacing) return
    replacing = true
    log.error('webhook worker restarted', { reason })
    const old = runner
    runner = undefined
    // Bounded like a stop: a runner stuck on a database that does not answer is left behind.
    if (old) await Promise.race([old.stop().catch(() => {}), Bun.sleep(WORKER_STOP_MS)])
    try {
      const started = stopping ? undefined : await startRunner()
      if (stopping) await started?.stop() // stop() came while it was starting
      else runner = started
    } catch (error) {
      log.warn('webhook worker could not start; trying again at the next sweep', { error: String(error) })
    } finally {
      replacing = false
    }
  }

  runner = await startRunner()
  process.on('unhandledRejection', survivingLostConnections)
  // Not fatal: a database that cannot take them now gets them again at the next sweep.
  const ensureJobs = () =>
    Promise.all(
      [ENSURE_RELAY, ENSURE_PURGE].map((statement) => pool.query(statement).catch((error) => log.warn('webhook job not ensured', { statement, error: String(error) }))),
    )
  await ensureJobs()
  const sweep = setInterval(() => {
    pool.query(UNLOCK_DEAD_WORKERS, [STALE_LOCK_MS]).catch((error) => log.warn('webhook lock sweep failed', { error: String(error) }))
    void ensureJobs()
    if (!runner) void replaceRunner('no runner: its last start failed')
    else if (Date.now() - lastWorked > STUCK_AFTER_MS) void replaceRunner(`no job fetched or finished for ${STUCK_AFTER_MS} ms`)
  }, STALE_LOCK_MS / 2)
  sweep.unref()
  return {
    /** Stops taking jobs, lets in-flight sends finish (aborting them after SEND_ABORT_MS) and releases their jobs, within WORKER_STOP_MS. */
    async stop() {
      stopping = true
      clearInterval(sweep)
      await settleWithin(WORKER_STOP_MS, 'the webhook worker', (runner?.stop() ?? Promise.resolve()).then(() => pool.end()))
      process.off('unhandledRejection', survivingLostConnections)
    },
  }
}
