import { to as copyTo } from 'pg-copy-streams'
import { driverPool } from '../../db/data-source'
import { log } from '../../http/logger'
import type { ProductFilters } from '../products/sql'
import { exportCopyStatement } from './sql'

/** The longest an export may take (a reader that slow is cut), in place of the per-statement bounds. */
const EXPORT_MAX_MS = 60 * 60 * 1000

const QUOTE = 0x22
const LF = 0x0a
const CR = 0x0d

/**
 * COPY ends records with LF; RFC 4180 wants CRLF. Rewrites the LFs that end a record (outside a
 * quoted field: an even number of `"` since the record began) and leaves line breaks inside
 * quoted fields as they are. `inQuotes` carries over between chunks.
 */
export function crlfRecords() {
  let inQuotes = false
  return (chunk: Uint8Array): Uint8Array => {
    const ends: number[] = []
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]
      if (byte === QUOTE) inQuotes = !inQuotes
      else if (byte === LF && !inQuotes) ends.push(i)
    }
    if (ends.length === 0) return chunk
    const out = new Uint8Array(chunk.length + ends.length)
    let from = 0
    let to = 0
    for (const end of ends) {
      out.set(chunk.subarray(from, end), to)
      to += end - from
      out[to++] = CR
      from = end
    }
    out.set(chunk.subarray(from), to)
    return out
  }
}

/**
 * The matching catalogue as CSV, written by PostgreSQL (COPY … TO STDOUT) and streamed to the
 * client with backpressure: each chunk is written to the socket and awaited before the next is
 * read, and the COPY stream pauses the database connection while its small buffer is full, so
 * memory stays flat at any size and a slow client slows the export. The first chunk is read before
 * the response starts, so a failing query still gets the JSON 500.
 */
export async function exportProductsCsv(filters: ProductFilters): Promise<ReadableStream<Uint8Array>> {
  const client = await driverPool().connect()
  let released = false
  const finish = (error?: unknown) => {
    if (released) return
    released = true
    // After a failure or a cancel the connection is discarded, ending its COPY.
    client.release(error instanceof Error ? error : undefined)
  }
  const copy = copyTo(exportCopyStatement(filters, (text) => client.escapeLiteral(text)))
  // pg's client-side read timeout (DATABASE_STATEMENT_TIMEOUT_MS + margin) is for statements that
  // answer at once; this one lasts as long as its reader takes, within EXPORT_MAX_MS.
  Object.assign(copy, { query_timeout: EXPORT_MAX_MS })
  // pg clears that timer through the query's callback, which a COPY stream never calls by itself.
  const clearReadTimer = () => (copy as { callback?: () => void }).callback?.()
  // After a cancel the stream may still be told of the connection's end: nothing to report.
  copy.on('error', () => {})
  const chunks: AsyncIterator<Buffer> = copy[Symbol.asyncIterator]()
  let first: IteratorResult<Buffer>
  try {
    // One statement, one snapshot; the same reasoning for the server's statement timeout.
    await client.query('BEGIN READ ONLY')
    await client.query(`SET LOCAL statement_timeout = ${EXPORT_MAX_MS}`)
    client.query(copy)
    first = await chunks.next()
  } catch (error) {
    clearReadTimer()
    finish(error)
    throw error
  }
  const toCrlf = crlfRecords()
  return new ReadableStream<Uint8Array>({
    type: 'direct',
    async pull(controller) {
      try {
        for (let next = first; !next.done; next = await chunks.next()) {
          // Awaited: the socket takes this chunk before the next one is read from PostgreSQL.
          await controller.write(toCrlf(next.value))
          if (released) return
        }
        clearReadTimer()
        await client.query('COMMIT')
        finish()
        await controller.end()
      } catch (error) {
        if (released) return
        log.error('product export failed', { error: String(error) })
        clearReadTimer()
        finish(error)
        controller.close(error instanceof Error ? error : new Error(String(error)))
      }
    },
    cancel() {
      // The client went away.
      clearReadTimer()
      copy.destroy()
      finish(new Error('export cancelled'))
    },
  })
}
