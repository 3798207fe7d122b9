import type { PoolClient, QueryConfig } from 'pg'
import type { QueryRunner } from 'typeorm'

/** How long a migration's bulk statement may take before the client gives up on the server. */
const BULK_STATEMENT_MS = 60 * 60_000

/**
 * Runs a migration's bulk statement (a backfill, an index over every row) on the migration's
 * connection, past the service's statement timeouts: those bound a request, and at a million
 * products such a statement takes longer. It lifts the server's (for this statement only) and the
 * client's read timeout (pg's per-query `query_timeout`, which 0 would not override).
 */
export async function runBulkStatement(queryRunner: QueryRunner, sql: string): Promise<void> {
  const connection = (await queryRunner.connect()) as PoolClient
  await connection.query('SET statement_timeout = 0')
  try {
    await connection.query({ text: sql, query_timeout: BULK_STATEMENT_MS } as QueryConfig)
  } finally {
    // Back to the connection's own setting (the pool's statement_timeout).
    await connection.query('RESET statement_timeout')
  }
}

/**
 * Builds an index without blocking writes (CREATE INDEX CONCURRENTLY, outside a transaction). What
 * an interrupted build leaves is an invalid index of that name: it is dropped first, so the
 * migration can run again.
 */
export async function buildIndexConcurrently(queryRunner: QueryRunner, name: string, definition: string): Promise<void> {
  await queryRunner.query(`DROP INDEX CONCURRENTLY IF EXISTS "${name}"`)
  await runBulkStatement(queryRunner, `CREATE INDEX CONCURRENTLY "${name}" ${definition}`)
}
