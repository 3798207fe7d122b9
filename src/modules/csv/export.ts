import { stringify } from 'csv-stringify/sync'
import type { Pool, PoolClient } from 'pg'
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver.js'
import { dataSource } from '../../db/data-source'
import { log } from '../../http/logger'
import { neutraliseFormula } from './cells'
import { EXPORT_COLUMNS, exportProductsQuery, type ExportFilters } from './sql'

/** Rows per FETCH: large enough that round trips cost little, small enough to keep memory flat. */
const BATCH_ROWS = 2000

// RFC 4180: CRLF between records, quotes where a field holds a comma, a quote or a line break.
const toCsv = (rows: unknown[][]) =>
  stringify(rows, { record_delimiter: 'windows', quoted_match: /[\r\n]/, cast: { string: neutraliseFormula } })

/**
 * The matching catalogue as CSV, streamed through a server-side cursor: a batch is fetched
 * only when the client has taken the one before the previous, so memory stays flat at any size
 * and a slow client slows the export rather than filling the server. The first batch is fetched before the
 * response starts, so a failing query still gets the JSON 500.
 */
export async function exportProductsCsv(filters: ExportFilters): Promise<ReadableStream<string>> {
  const pool: Pool = (dataSource.driver as PostgresDriver).master
  const client = await pool.connect()
  const { sql, params } = exportProductsQuery(filters)
  const fetchBatch = () => {
    const rows = client.query<unknown[]>({ text: `FETCH ${BATCH_ROWS} FROM product_export`, rowMode: 'array' }).then((result) => result.rows)
    // Awaited by the next pull; a cancelled export leaves it to fail unobserved.
    rows.catch(() => {})
    return rows
  }
  let next: Promise<unknown[][]>
  try {
    // A cursor lives in a transaction, which also gives the whole export one snapshot.
    await client.query('BEGIN READ ONLY')
    await client.query(`DECLARE product_export NO SCROLL CURSOR FOR ${sql}`, params)
    next = fetchBatch()
    await next
  } catch (error) {
    release(client, error)
    throw error
  }
  let released = false
  const finish = (error?: unknown) => {
    if (released) return
    released = true
    release(client, error)
  }
  return new ReadableStream<string>(
    {
      start(controller) {
        controller.enqueue(toCsv([[...EXPORT_COLUMNS]]))
      },
      async pull(controller) {
        try {
          const rows = await next
          if (rows.length > 0) {
            // PostgreSQL reads the next batch while this one is formatted and sent: at most two in memory.
            next = fetchBatch()
            return controller.enqueue(toCsv(rows))
          }
          await client.query('COMMIT')
          finish()
          controller.close()
        } catch (error) {
          if (released) return
          log.error('product export failed', { error: String(error) })
          finish(error)
          controller.error(error)
        }
      },
      cancel() {
        // The client went away: the transaction ends with the connection's reset.
        finish(new Error('export cancelled'))
      },
    },
    { highWaterMark: 1 },
  )
}

/** Back to the pool; after a failure the connection is discarded, dropping its transaction. */
function release(client: PoolClient, error?: unknown) {
  client.release(error instanceof Error ? error : undefined)
}
