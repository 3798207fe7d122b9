import type { QueryResultRow } from 'pg'
import { driverPool } from './data-source'

const names = new Map<string, string>()

/**
 * Distinct texts run as named statements, per process and so per connection: each holds about
 * 130 KB of the server's memory with its plan, and the lists' filters, sorts and limits make
 * thousands of texts possible. Past this many, a new text runs unnamed (planned each time).
 */
export const PREPARED_STATEMENT_LIMIT = 300

/**
 * Runs one of the hot paths' fixed statements as a named prepared statement on the pool TypeORM
 * opened (same connections, same statement_timeout). PostgreSQL then parses and plans it once per
 * connection rather than on every request, and TypeORM's per-query QueryRunner is skipped: the API
 * and PostgreSQL usually share the same CPUs, so CPU saved here is left to the database. Only for SQL texts
 * built in the code, what a client sends always as parameters: each distinct text gets its
 * own statement name, prepared on every connection that runs it, up to PREPARED_STATEMENT_LIMIT.
 */
export async function preparedQuery<Row extends QueryResultRow>(text: string, values: unknown[]): Promise<Row[]> {
  let name = names.get(text)
  if (name === undefined && names.size < PREPARED_STATEMENT_LIMIT) names.set(text, (name = `inventory_${names.size}`))
  return (await driverPool().query<Row>(name === undefined ? { text, values } : { name, text, values })).rows
}
