import type { QueryResultRow } from 'pg'
import { driverPool } from './data-source'

const names = new Map<string, string>()

/**
 * Runs one of the hot paths' fixed statements as a named prepared statement on the pool TypeORM
 * opened (same connections, same statement_timeout). PostgreSQL then parses and plans it once per
 * connection rather than on every request, and TypeORM's per-query QueryRunner is skipped: the API
 * and PostgreSQL usually share the same CPUs, so CPU saved here is left to the database. Only for SQL texts
 * from a small set built in the code, values always as parameters: each distinct text gets its
 * own statement name, prepared on every connection that runs it.
 */
export async function preparedQuery<Row extends QueryResultRow>(text: string, values: unknown[]): Promise<Row[]> {
  let name = names.get(text)
  if (name === undefined) names.set(text, (name = `inventory_${names.size}`))
  return (await driverPool().query<Row>({ name, text, values })).rows
}
