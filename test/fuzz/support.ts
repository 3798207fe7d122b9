/**
 * Shared by the property-based tests (fuzz*.test.ts): one seed per `bun test` run, printed with
 * any failure so that `FUZZ_SEED=<seed>` replays exactly the same cases.
 */
import fc from 'fast-check'
import { query } from '../support/helpers'

export const FUZZ_SEED = process.env.FUZZ_SEED ? Number.parseInt(process.env.FUZZ_SEED, 10) : Math.floor(Math.random() * 2 ** 31)

/** Multiplies every numRuns, for a longer hunt than the default suite can afford (FUZZ_RUNS=20). */
const RUNS_FACTOR = Number(process.env.FUZZ_RUNS ?? 1)

export const runs = (numRuns: number) => Math.max(1, Math.round(numRuns * RUNS_FACTOR))

export async function checkProperty<T>(
  testName: string,
  file: string,
  property: fc.IAsyncPropertyWithHooks<T>,
  numRuns: number,
  parameters: fc.Parameters<T> = {},
) {
  try {
    await fc.assert(property, { seed: FUZZ_SEED, numRuns: runs(numRuns), ...parameters })
  } catch (error) {
    const reproduce = `Reproduce with: FUZZ_SEED=${FUZZ_SEED} bun test ${file} -t '${testName.replace(/'/g, "'\\''")}'`
    if (error instanceof Error) error.message = `${error.message}\n\n${reproduce}`
    throw error
  }
}

/** Every table, so that "this request changed nothing" means nothing at all, updated_at included. */
export const TABLES = ['users', 'categories', 'products', 'product_categories', 'orders', 'stock_movements', 'alerts', 'idempotency_keys', 'webhook_endpoints', 'webhook_deliveries'] as const

/** Row count and an md5 of every row's text, per table. */
export async function snapshot(): Promise<Record<string, string>> {
  const parts = TABLES.map(
    (table) => `'${table}', (SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM ${table} t)`,
  )
  const [row] = await query<{ state: Record<string, string> }>(`SELECT json_build_object(${parts.join(', ')}) AS state`)
  return row!.state
}
