import { createApp } from './app'
import { config } from './config'
import { databaseUrl } from './db/data-source'
import { openDatabase } from './db/database'
import { runPeriodically } from './db/scheduled-jobs'
import { log } from './http/logger'
import { listenForUserChanges } from './modules/auth/user-changes'
import { answerMetricsRequests, mergeMetricsOf } from './modules/metrics/cluster'
import { purgeExpiredIdempotencyKeys } from './modules/idempotency/idempotency'
import { ensureAdmin } from './modules/users/service'
import { startDeliveryWorker } from './modules/webhooks/worker'
import { startDeliveryProcess, supervise, WORKER_ENV } from './supervisor'

/**
 * One process (WEB_CONCURRENCY=1, the default) prepares and serves. With WEB_CONCURRENCY=N the
 * primary prepares once (embedded PostgreSQL, migrations, initial admin, the periodic purge) and
 * starts N workers that share the port through SO_REUSEPORT, the kernel spreading connections
 * among them; the primary forwards SIGTERM/SIGINT and stops last. Webhooks are sent by one delivery
 * process that the preparing process starts (WEBHOOK_WORKER=process), or by every serving process
 * (WEBHOOK_WORKER=inline).
 */
const isWorker = process.env[WORKER_ENV] === '1'

async function prepare() {
  const closeDatabase = await openDatabase({ migrate: config.MIGRATIONS_RUN })
  const generatedPassword = await ensureAdmin(config.ADMIN_USERNAME, config.ADMIN_PASSWORD, config.NODE_ENV !== 'production').catch((error) => {
    log.error('could not create the initial admin', { error: String(error) })
    return undefined
  })
  if (generatedPassword) {
    // Printed once, on the start that created the account (development only: production requires ADMIN_PASSWORD to create one).
    console.log(`\n  Initial admin created: ${config.ADMIN_USERNAME} / ${generatedPassword}\n  Set ADMIN_PASSWORD to choose it yourself.\n`)
  }
  runPeriodically('purge-expired-idempotency-keys', config.IDEMPOTENCY_PURGE_INTERVAL_SECONDS, purgeExpiredIdempotencyKeys)
  return closeDatabase
}

/** What sends the webhooks of a serving process: its own worker (inline), its delivery process, or nothing (a worker: the primary has it). */
async function startDelivery(): Promise<{ stop(): Promise<void> } | undefined> {
  if (config.WEBHOOK_WORKER === 'inline') return startDeliveryWorker(databaseUrl)
  if (isWorker) return undefined
  // The deliveries are counted in the delivery process: a scrape here merges its metrics.
  const delivery = startDeliveryProcess(mergeMetricsOf(() => [delivery.current]))
  return delivery
}

/** Serves HTTP in this process until SIGTERM/SIGINT, then lets in-flight requests finish. */
async function serve(closeDatabase: () => Promise<void>) {
  const stopListening = listenForUserChanges()
  const delivery = await startDelivery()
  const app = createApp().listen({
    hostname: config.HOST,
    port: config.PORT,
    reusePort: isWorker,
    // The app refuses every over-limit body itself, in JSON (Content-Length first, streamed bodies as
    // they arrive, never buffering more than the limit); Bun's own 413 has no body and comes before the
    // app, so its cut is moved out of the way. Bun discards what the app leaves unread.
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    idleTimeout: config.REQUEST_TIMEOUT_SECONDS,
  })
  log.info('listening', { url: `http://${config.HOST}:${app.server?.port}`, env: config.NODE_ENV, pid: process.pid })

  let stopping = false
  async function shutdown(signal: string) {
    if (stopping) return
    stopping = true
    log.info('shutting down', { signal, pid: process.pid })
    // Stops accepting and lets in-flight requests finish, while the delivery worker (or process) lets
    // its sends finish (aborting them after a second: their jobs are retried elsewhere).
    await Promise.all([app.server?.stop(), delivery?.stop()])
    await stopListening()
    await closeDatabase()
    process.exit() // 1 if a step could not finish in time (settleWithin)
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
  process.on('SIGINT', () => void shutdown('SIGINT'))
}

if (isWorker) {
  answerMetricsRequests()
  await serve(await openDatabase({ migrate: false }))
}
else if (config.WEB_CONCURRENCY > 1) supervise(await prepare())
else await serve(await prepare())
