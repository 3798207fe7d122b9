/**
 * Preloaded once for the whole `bun test` run: configures a test environment, starts a throwaway
 * embedded PostgreSQL (or uses TEST_DATABASE_URL) and applies the migrations to it.
 */
import { afterAll } from 'bun:test'
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/embedded'

Object.assign(process.env, {
  NODE_ENV: 'test',
  LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'error',
  JWT_SECRET: 'test-secret-that-is-at-least-32-bytes-long!',
  // Cheap hashing keeps the suite fast; production uses OWASP's argon2id parameters.
  PASSWORD_MEMORY_KIB: '256',
  PASSWORD_TIME_COST: '1',
  LOGIN_MAX_FAILURES: '5',
  LOGIN_LOCKOUT_SECONDS: '60',
  // Tests that listen on a socket name their client with X-Forwarded-For from 127.0.0.1.
  TRUSTED_PROXIES: '127.0.0.1',
  MIGRATIONS_RUN: 'false',
  // Fast webhook retries (100 ms, 500 ms, 2.5 s) and timeout, so that retry tests take seconds.
  WEBHOOK_RETRY_BASE_MS: '100',
  WEBHOOK_RETRY_WINDOW_MS: '10000',
  WEBHOOK_TIMEOUT_MS: '1000',
})

async function freePort(): Promise<number> {
  const probe = Bun.serve({ port: 0, fetch: () => new Response() })
  const port = probe.port!
  probe.stop(true)
  return port
}

let embedded: EmbeddedDatabase | undefined
if (process.env.TEST_DATABASE_URL) {
  process.env.DATABASE_URL = process.env.TEST_DATABASE_URL
} else {
  embedded = await startEmbeddedPostgres({
    dir: `/tmp/inventory-test-${process.pid}-${Date.now()}`,
    port: await freePort(),
    persistent: false,
  })
  process.env.DATABASE_URL = embedded.url
}

const { dataSource } = await import('../../src/db/data-source')
const { migrateDatabase } = await import('../../src/db/database')
await dataSource.initialize()
await migrateDatabase()

// Stopping PostgreSQL writes a shutdown checkpoint, then the data folder is deleted: on a busy
// shared disk that took up to 30 s, past the 5 s a hook gets by default.
afterAll(async () => {
  await dataSource.destroy()
  await embedded?.stop()
}, 60_000)
