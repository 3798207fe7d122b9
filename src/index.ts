import { createApp } from './app'
import { config } from './config'
import { openDatabase } from './db/database'
import { log } from './http/logger'
import { listenForUserChanges } from './modules/auth/user-changes'
import { purgeExpiredIdempotencyKeys } from './modules/orders/idempotency'
import { dataSource } from './db/data-source'
import { ensureAdmin } from './modules/users/service'

const closeDatabase = await openDatabase({ migrate: config.MIGRATIONS_RUN })
const stopListening = listenForUserChanges()

const generatedPassword = await ensureAdmin(config.ADMIN_USERNAME, config.ADMIN_PASSWORD, config.NODE_ENV !== 'production').catch((error) => {
  log.error('could not create the initial admin', { error: String(error) })
  return undefined
})
if (generatedPassword) {
  // Printed once, on the start that created the account (development only: production requires ADMIN_PASSWORD to create one).
  console.log(`\n  Initial admin created: ${config.ADMIN_USERNAME} / ${generatedPassword}\n  Set ADMIN_PASSWORD to choose it yourself.\n`)
}

const app = createApp().listen({
  hostname: config.HOST,
  port: config.PORT,
  // The app refuses every over-limit body itself, in JSON (Content-Length first, streamed bodies as
  // they arrive, never buffering more than the limit); Bun's own 413 has no body and comes before the
  // app, so its cut is moved out of the way. Bun discards what the app leaves unread.
  maxRequestBodySize: Number.MAX_SAFE_INTEGER,
  idleTimeout: config.REQUEST_TIMEOUT_SECONDS,
})
log.info('listening', { url: `http://${config.HOST}:${app.server?.port}`, env: config.NODE_ENV })

const HOUR = 3_600_000
const purgeTimer = setInterval(() => {
  purgeExpiredIdempotencyKeys(dataSource.manager).catch((error) => log.warn('idempotency key purge failed', { error: String(error) }))
}, HOUR)
purgeTimer.unref()

let stopping = false
async function shutdown(signal: string) {
  if (stopping) return
  stopping = true
  log.info('shutting down', { signal })
  await app.server?.stop() // stops accepting, lets in-flight requests finish
  await stopListening()
  await closeDatabase()
  process.exit(0)
}
process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGINT', () => void shutdown('SIGINT'))
