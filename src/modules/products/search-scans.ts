import type { Pool, PoolClient, QueryResultRow } from 'pg'
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver.js'
import { dataSource } from '../../db/data-source'
import { HttpError, tooManySearchScans } from '../../http/errors'

/**
 * pg_trgm makes its trigrams of letters and digits, so a term without three of them in a row
 * ("zq", "a-b", "%") gives the trigram indexes nothing selective to look up: PostgreSQL reads the
 * products (or a whole index) until it has enough matches, a second at a million products when
 * the term is rare. Such searches still answer, one at a time.
 */
export const searchReadsEveryProduct = (term: string) => !/[\p{L}\p{N}]{3}/u.test(term)

/** The advisory lock that lets one such search run at a time across every process and replica (a bigint key: apart from the idempotency keys' pairs). */
export const SCAN_LOCK_KEY = 7_049_712_286_451_350_001n
/** How long a search waits for the one before it, in PostgreSQL's queue of the lock. */
export const SCAN_LOCK_WAIT_MS = 2000
/** Searches of this process waiting or running at once: each holds a connection of the pool while it waits. */
export const SCANS_PER_PROCESS = 3

const LOCK_NOT_AVAILABLE = '55P03' // lock_timeout ran out

/** The scan's transaction: its wait for the lock bounded, and no parallel workers (one core, whatever the plan). */
export const SCAN_SETTINGS = `SET LOCAL lock_timeout = ${SCAN_LOCK_WAIT_MS}; SET LOCAL max_parallel_workers_per_gather = 0`

let scansHere = 0

/** The statement on `client`, once this search's turn has come (or a 429 if it does not come in time). */
async function scanOn<Row extends QueryResultRow>(client: PoolClient, text: string, values: unknown[]): Promise<Row[]> {
  try {
    await client.query(`BEGIN READ ONLY; ${SCAN_SETTINGS}; SELECT pg_advisory_xact_lock(${SCAN_LOCK_KEY})`)
  } catch (error) {
    if ((error as { code?: string }).code !== LOCK_NOT_AVAILABLE) throw error
    await client.query('ROLLBACK')
    throw tooManySearchScans()
  }
  const { rows } = await client.query<Row>(text, values)
  await client.query('COMMIT')
  return rows
}

/**
 * Runs a search statement that reads every product, bounded: one at a time across every process
 * (any number of them costs the database one core), on one core (no parallel workers). A search
 * that cannot start within SCAN_LOCK_WAIT_MS, or finds SCANS_PER_PROCESS already here, is a 429
 * with Retry-After; every other request goes on as usual meanwhile.
 */
export async function runSearchScan<Row extends QueryResultRow>(text: string, values: unknown[]): Promise<Row[]> {
  if (scansHere >= SCANS_PER_PROCESS) throw tooManySearchScans()
  scansHere++
  try {
    const client = await ((dataSource.driver as PostgresDriver).master as Pool).connect()
    let broken: Error | undefined
    try {
      return await scanOn<Row>(client, text, values)
    } catch (error) {
      // A connection left inside a failed transaction is not lent again; a refused wait rolled back.
      if (!(error instanceof HttpError)) broken = error as Error
      throw error
    } finally {
      client.release(broken)
    }
  } finally {
    scansHere--
  }
}
