import { config } from '../config'
import { log } from '../http/logger'
import { migrateQueue } from '../modules/webhooks/worker'
import { dataSource, databaseUrl } from './data-source'
import { startEmbeddedPostgres, type EmbeddedDatabase } from './embedded'

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
  await dataSource.initialize()
  if (options.migrate) {
    const applied = await migrateDatabase()
    for (const migration of applied) log.info('migration applied', { name: migration.name })
  }
  return async () => {
    if (dataSource.isInitialized) await dataSource.destroy()
    await embedded?.stop()
  }
}

/** The job queue's schema first (graphile-worker's own migrator: the triggers of ours call into it), then ours. */
export async function migrateDatabase() {
  await migrateQueue(databaseUrl)
  return dataSource.runMigrations({ transaction: 'each' })
}
