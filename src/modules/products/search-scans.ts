import pLimit from 'p-limit'
import type { QueryResultRow } from 'pg'
import { driverPool } from '../../db/data-source'
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
/** How long a search waits for its turn (in this process's line, then for the lock) before a 429. */
export const SCAN_WAIT_MS = 2000
/** Searches that may wait in this process's line at once; more get a 429 at once. */
export const SCANS_WAITING_PER_PROCESS = 32

/** One core, whatever the plan: no parallel workers. */
export const SCAN_SETTINGS = 'SET LOCAL max_parallel_workers_per_gather = 0'

const LOCK_NOT_AVAILABLE = '55P03' // lock_timeout ran out

/** This process's searches, in arrival order: only the first in line holds a connection (waiting for the lock, or scanning). */
const line = pLimit(1)
/** Those in line still waiting (line.pendingCount also counts the ones that gave up, until their turn comes). */
let waiting = 0

/** How many wait in this process's line now (for tests). */
export const searchScansWaiting = () => waiting

/** The statement in a transaction that holds the lock, waited for until `deadline` (a 429 past it). */
async function scanWhenAllowed<Row extends QueryResultRow>(text: string, values: unknown[], deadline: number): Promise<Row[]> {
  const client = await driverPool().connect()
  let broken: Error | undefined
  try {
    try {
      // lock_timeout = 0 would mean no limit. It bounds the wait for the turn only: the search itself
      // then waits for the tables as any query does (behind a migration's ALTER TABLE, say).
      const waitMs = Math.max(1, Math.ceil(deadline - performance.now()))
      await client.query(
        `BEGIN READ ONLY; SET LOCAL lock_timeout = ${waitMs}; ${SCAN_SETTINGS}; SELECT pg_advisory_xact_lock(${SCAN_LOCK_KEY}); SET LOCAL lock_timeout TO DEFAULT`,
      )
    } catch (error) {
      if ((error as { code?: string }).code !== LOCK_NOT_AVAILABLE) throw error
      await client.query('ROLLBACK')
      throw tooManySearchScans()
    }
    const { rows } = await client.query<Row>(text, values)
    await client.query('COMMIT')
    return rows
  } catch (error) {
    // A connection left inside a failed transaction is not lent again; a refused wait rolled back.
    if (!(error instanceof HttpError)) broken = error as Error
    throw error
  } finally {
    client.release(broken)
  }
}

/**
 * Runs a search statement that reads every product, bounded: one at a time across every process
 * (any number of them cost the database one core), on one core. It waits its turn at most
 * SCAN_WAIT_MS, else (or when SCANS_WAITING_PER_PROCESS are already waiting here) it is a 429 with
 * Retry-After; every other request goes on as usual meanwhile.
 */
export function runSearchScan<Row extends QueryResultRow>(text: string, values: unknown[]): Promise<Row[]> {
  if (waiting >= SCANS_WAITING_PER_PROCESS) return Promise.reject(tooManySearchScans())
  const deadline = performance.now() + SCAN_WAIT_MS
  let turn: 'waiting' | 'taken' | 'given up' = 'waiting'
  waiting++
  return new Promise<Row[]>((resolve, reject) => {
    const giveUp = setTimeout(() => {
      if (turn !== 'waiting') return // its lock wait has the same deadline
      turn = 'given up'
      waiting--
      reject(tooManySearchScans())
    }, SCAN_WAIT_MS)
    line(async () => {
      if (turn === 'given up') return [] // its request has had its 429: the next in line goes on at once
      turn = 'taken'
      waiting--
      return scanWhenAllowed<Row>(text, values, deadline)
    })
      .then(resolve, reject)
      .finally(() => clearTimeout(giveUp))
  })
}
