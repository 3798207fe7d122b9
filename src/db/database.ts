import { DatabaseError } from 'pg'
import { config } from '../config'
import { log } from '../http/logger'
import { migrateQueue } from '../modules/webhooks/worker'
import { settleWithin } from '../shutdown'
import { dataSource, databaseUrl } from './data-source'
import { startEmbeddedPostgres, type EmbeddedDatabase } from './embedded'

/** Closing the pool takes milliseconds; a server that stopped answering would hold it forever. */
const DATABASE_CLOSE_MS = 2000

/**
 * Connects the shared DataSource, first starting the embedded PostgreSQL when no DATABASE_URL is
 * configured, and applies pending migrations when asked to. Returns the matching close().
 */
export async function openDatabase(options: { migrate: boolean }): Promise<() => Promise<void>> {
  let embedded: EmbeddedDatabase | undefined
  if (!config.DATABASE_URL) {
    log.info('starting embedded PostgreSQL', { dir: config.EMBEDDED_PG_DIR, port: config.EMBEDDED_PG_PORT })
    embedded = await startEmbeddedPostgres({ dir: config.EMBEDDED_PG_DIR, port: config.EMBEDDED_PG_PORT })
  }
  await connectWhenReachable(config.DATABASE_CONNECT_RETRY_SECONDS)
  if (options.migrate) {
    const applied = await migrateDatabase()
    for (const migration of applied) log.info('migration applied', { name: migration.name })
  }
  return async () => {
    if (dataSource.isInitialized) await settleWithin(DATABASE_CLOSE_MS, 'closing the connection pool', dataSource.destroy())
    await embedded?.stop()
  }
}

/** The job queue's schema first (graphile-worker's own migrator: the triggers of ours call into it), then ours. */
export async function migrateDatabase() {
  await migrateQueue(databaseUrl)
  return dataSource.runMigrations({ transaction: 'each' })
}

/**
 * PostgreSQL that refuses connections, is not resolvable yet or answers "the database system is
 * starting up" (57P03) may be starting next to us; any other answer of PostgreSQL (a wrong password,
 * a missing database) will not change by waiting.
 */
const mayBeStarting = (error: unknown) => !(error instanceof DatabaseError) || error.code === '57P03'

/** Initializes the DataSource, retrying a database that is still starting for up to `seconds`. */
async function connectWhenReachable(seconds: number) {
  const deadline = Date.now() + seconds * 1000
  for (let attempt = 1; ; attempt++) {
    try {
      await dataSource.initialize()
      return
    } catch (error) {
      if (!mayBeStarting(error) || Date.now() >= deadline) throw error
      log.warn('database not reachable yet, retrying', { attempt, error: String(error), retry_seconds_left: Math.ceil((deadline - Date.now()) / 1000) })
      await Bun.sleep(Math.min(250 * attempt, 2000, Math.max(0, deadline - Date.now())))
    }
  }
}
