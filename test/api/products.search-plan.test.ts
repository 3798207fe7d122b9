/**
 * The product search must be an index search: at 200,000 products a sequential scan costs
 * hundreds of milliseconds per request (bench/README.md). These plans are those of the very
 * statement the endpoint runs (products/sql.ts), on a few thousand products with fresh statistics.
 */
import { beforeAll, describe, expect, test } from 'bun:test'
import { dataSource } from '../../src/db/data-source'
import { listProductsQuery, type ProductFilters } from '../../src/modules/products/sql'
import { resetDatabase } from '../support/helpers'
import { planNodes, type PlanNode } from '../support/plans'

async function planOf(filters: ProductFilters, options: { seqscan: boolean }): Promise<PlanNode[]> {
  return dataSource.transaction(async (manager) => {
    if (!options.seqscan) await manager.query('SET LOCAL enable_seqscan = off')
    const { sql, params } = listProductsQuery(filters, { limit: 20, offset: 0, scope: 'plan' })
    const [row] = await manager.query(`EXPLAIN (FORMAT JSON) ${sql}`, params)
    return planNodes(row['QUERY PLAN'][0].Plan)
  })
}

const scansOfProducts = (plan: PlanNode[]) => plan.filter((node) => node['Relation Name'] === 'products')

beforeAll(async () => {
  await resetDatabase()
  await dataSource.query(
    `INSERT INTO products (name, description, price, stock_quantity, low_stock_threshold)
     SELECT 'Item ' || upper(left(md5(i::text), 8)), 'A sturdy everyday item, batch ' || (i % 97), 10, 100, 10
     FROM generate_series(1, 5000) i`,
  )
  // As autovacuum would: statistics, and the GIN pending lists of the bulk insert merged into the indexes.
  await dataSource.query('VACUUM ANALYZE products')
})

describe('GET /products?q= plan', () => {
  test('a selective term uses the trigram index, with the real statistics', async () => {
    const plan = await planOf({ q: 'C4CA4238'}, { seqscan: true })
    expect(scansOfProducts(plan).map((node) => node['Node Type'])).not.toContain('Seq Scan')
    expect(plan.map((node) => node['Index Name'])).toContain('products_name_trgm_idx')
  })

  test('the name and the description are both searched through their trigram indexes', async () => {
    const plan = await planOf({ q: 'abc'}, { seqscan: false })
    expect(scansOfProducts(plan).map((node) => node['Node Type'])).not.toContain('Seq Scan')
    const indexes = plan.map((node) => node['Index Name']).filter(Boolean)
    expect(indexes).toContain('products_name_trgm_idx')
    expect(indexes).toContain('products_description_trgm_idx')
  })

  test('a search reads its matches once: the count and the page come from one pass over the trigram indexes', async () => {
    for (const sort of [undefined, '-price', 'name'] as const) {
      // 1 description in 97: about 50 matches, fewer than the count limit. As at a million rows, the index rather than a scan.
      const plan = await dataSource.transaction(async (manager) => {
        await manager.query('SET LOCAL enable_seqscan = off')
        const { sql, params } = listProductsQuery({ q: 'batch 42', sort }, { limit: 20, offset: 0, scope: 'plan' })
        const [row] = await manager.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, params)
        return planNodes(row['QUERY PLAN'][0].Plan)
      })
      const passes = plan.filter((node) => node['Index Name'] === 'products_description_trgm_idx' && node['Actual Loops'] > 0)
      expect([sort, passes.length]).toEqual([sort, 1])
    }
  })

  test('with other filters and a sort, the search still goes through the index', async () => {
    const plan = await planOf({ q: 'C4CA4238', min_price: '1', in_stock: true, sort: '-price' }, { seqscan: true })
    expect(scansOfProducts(plan).map((node) => node['Node Type'])).not.toContain('Seq Scan')
  })
})
