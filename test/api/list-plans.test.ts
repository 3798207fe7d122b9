/**
 * Every list statement, as the endpoints build it, must read only its page and its bounded count:
 * no sequential scan of a large table, no sort of all the matches. Checked with EXPLAIN ANALYZE on
 * tables large enough for the planner to prefer a scan and a sort where no index fits (30,000 rows
 * each, fresh statistics), for every sort and filter, on the first page and on a cursor page deep
 * in the list; and the count reads no more than its limit's worth of entries, through any index.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { config } from '../../src/config'
import { dataSource } from '../../src/db/data-source'
import { PREPARED_STATEMENT_LIMIT, preparedQuery } from '../../src/db/prepared'
import { pageQuery, type ListStatement, type PageRequest } from '../../src/http/pagination'
import { ALERT_LIST } from '../../src/modules/alerts/sql'
import { CATEGORY_LIST } from '../../src/modules/categories/sql'
import { orderListStatement } from '../../src/modules/orders/sql'
import { PRODUCT_SORTS, type ProductSort } from '../../src/modules/products/schemas'
import { movementListStatement, productListStatement, type ProductFilters } from '../../src/modules/products/sql'
import { USER_LIST } from '../../src/modules/users/sql'
import { resetDatabase } from '../support/helpers'
import { planNodes, type PlanNode } from '../support/plans'

const ROWS = 30_000
/** The page's own rows, twice over (a descending cursor page merges two ranges): a sort of more is a sort of the matches. */
const MAX_SORTED = 2 * (20 + 1)
/** The bounded count reads up to LIST_COUNT_LIMIT + 1 matching rows; reading far more means scanning the table. */
const MAX_READ = 3 * (ROWS / 100)

const LARGE_TABLES = ['products', 'product_categories', 'orders', 'stock_movements', 'alerts', 'users', 'categories']

async function problems(statement: ListStatement, request: PageRequest): Promise<string[]> {
  const { sql, params } = pageQuery(statement, request)
  const [row] = await dataSource.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, params)
  const plan = planNodes(row['QUERY PLAN'][0].Plan)
  const found: string[] = []
  for (const node of plan) {
    // A sequential scan that a LIMIT stops after a few pages costs no more than an index; one that reads on is what grows with the table.
    const read = node['Actual Rows'] + (node['Rows Removed by Filter'] ?? 0)
    if (node['Node Type'] === 'Seq Scan' && LARGE_TABLES.includes(node['Relation Name']!) && read > MAX_READ) {
      found.push(`Seq Scan on ${node['Relation Name']} reading ${read} rows`)
    }
    if (node['Node Type'].endsWith('Sort')) {
      // What is sorted is the node's input; a CTE it runs first (InitPlan) is not.
      const input = (node.Plans ?? []).filter((child) => child['Parent Relationship'] === 'Outer')
      const sorted = input.reduce((sum, child) => sum + child['Actual Rows'] * child['Actual Loops'], 0)
      // A search's page is cut from its matches, read once and at most the count's limit (readMatchesOnce).
      const cutFromMatches = statement.readMatchesOnce && input.every((child) => child['Node Type'] === 'CTE Scan')
      if (sorted > (cutFromMatches ? config.LIST_COUNT_LIMIT + 1 : MAX_SORTED)) found.push(`${node['Node Type']} of ${sorted} rows`)
    }
  }
  // The bounded count (the plan's first Aggregate) reads its matches up to the limit, through any index, and no more: a
  // merge join walking every id of a category's products before it has counted enough is what grows with the table.
  const count = plan.find((node) => node['Node Type'] === 'Aggregate')!
  for (const node of planNodes(count)) {
    const read = (node['Actual Rows'] + (node['Rows Removed by Filter'] ?? 0)) * node['Actual Loops']
    if (node['Node Type'].includes('Scan') && read > MAX_READ) found.push(`the count's ${node['Node Type']} on ${node['Relation Name'] ?? node['Index Name']} reading ${read} rows`)
  }
  if (found.length && process.env.PLAN_DEBUG) console.error(JSON.stringify(row['QUERY PLAN'][0].Plan, null, 1))
  return found
}

const firstPage: PageRequest = { limit: 20, offset: 0, scope: 'plan' }
/** A cursor page deep in the statement's own matches (15,000 items in, or 100 when fewer match), as its cursor would position it. */
async function deepPage(statement: ListStatement): Promise<PageRequest> {
  for (const offset of [15_000, 100]) {
    const { sql, params } = pageQuery(statement, { limit: 1, offset, scope: 'plan' })
    const [row] = await dataSource.query(sql, params)
    if (row.cursor_id !== null) return { limit: 20, offset, scope: 'plan', after: { key: row.cursor_key, id: Number(row.cursor_id) } }
  }
  throw new Error('too few matches for a deep page')
}

/** The sort keys of the categories whose products all sit at one end of the order (below). */
const FAR_END_KEYS = ['name', 'price', 'created_at'] as const

let customerId: number
let productId: number

beforeAll(async () => {
  // The count stops at the same share of the table as the default (10,000) does at a million rows:
  // a count limit of a third of the table would rightly be read by a sequential scan.
  config.LIST_COUNT_LIMIT = ROWS / 100
  const users = await resetDatabase()
  customerId = users.customer.id
  // 1 product in 100 out of stock, 1 in 100 below its threshold; prices and stocks with ties (30 products per price, and per stock level).
  await dataSource.query(
    `INSERT INTO products (name, description, price, stock_quantity, low_stock_threshold, created_at)
     SELECT 'Item ' || upper(left(md5(i::text), 8)), CASE WHEN i % 7 = 0 THEN NULL ELSE 'Sturdy, batch ' || (i % 97) END,
            (i * 7919) % 5000 / 100.0, CASE WHEN i % 100 = 0 THEN 0 WHEN i % 100 = 1 THEN 5 ELSE 20 + i % 1000 END, 10,
            now() - make_interval(secs => i)
     FROM generate_series(1, ${ROWS}) i`,
  )
  await dataSource.query(`INSERT INTO categories (name) SELECT 'Category ' || i FROM generate_series(1, ${ROWS}) i`)
  await dataSource.query(
    `INSERT INTO product_categories (product_id, category_id)
     SELECT id, (SELECT min(id) FROM categories) + id % 10 FROM products
     UNION ALL SELECT id, (SELECT min(id) FROM categories) + 10 + id % 10 FROM products`,
  )
  // Three categories of 3,000 products each (10 %, as the others): the first in name, price and created_at order.
  for (const [index, key] of FAR_END_KEYS.entries()) {
    await dataSource.query(
      `INSERT INTO product_categories (product_id, category_id) SELECT id, (SELECT min(id) FROM categories) + 20 + $1 FROM products ORDER BY ${key}, id LIMIT ${ROWS / 10}`,
      [index],
    )
  }
  productId = (await dataSource.query('SELECT min(id) AS id FROM products'))[0].id
  await dataSource.query(
    `INSERT INTO users (username, password_hash) SELECT 'user' || i, 'x' FROM generate_series(1, ${ROWS}) i`,
  )
  await dataSource.query(
    `INSERT INTO orders (product_id, user_id, quantity) SELECT $1, CASE WHEN i % 3 = 0 THEN $2::int END, 1 FROM generate_series(1, ${ROWS}) i`,
    [productId, customerId],
  )
  await dataSource.query(
    `INSERT INTO stock_movements (product_id, delta, stock_after, reason) SELECT $1, 1, i, 'adjustment' FROM generate_series(1, ${ROWS}) i`,
    [productId],
  )
  await dataSource.query(`INSERT INTO alerts (product_id, stock, threshold) SELECT $1, 1, 10 FROM generate_series(1, ${ROWS}) i`, [productId])
  // As autovacuum would: statistics, the visibility map (index-only counts) and the GIN pending lists merged.
  await dataSource.query('VACUUM ANALYZE')
}, 60_000)

const defaultCountLimit = config.LIST_COUNT_LIMIT
afterAll(async () => {
  config.LIST_COUNT_LIMIT = defaultCountLimit
  // Dropped rather than left for the shutdown checkpoint to write out.
  await resetDatabase()
})

/** The filters that keep a small share of the products (or of a category's): each sort has an index of their products alone. */
const SELECTIVE = ['in_stock=false', 'low_stock=true', 'category_id + in_stock=false', 'category_id + low_stock=true']

const FILTERS: Array<[string, ProductFilters]> = [
  ['no filter', {}],
  ['category_id', { category_id: 3 }],
  ['in_stock=true', { in_stock: true }],
  ['in_stock=false', { in_stock: false }],
  ['low_stock=true', { low_stock: true }],
  ['low_stock=false', { low_stock: false }],
  // About 265 matches, fewer than the count limit: the page is cut from the matches, read once.
  ['q (1 in 113)', { q: 'batch 42' }],
  ['min_price + max_price', { min_price: '10', max_price: '20' }],
  ['category_id + min_price + max_price', { category_id: 3, min_price: '10', max_price: '20' }],
  // A category with a stock flag: category 1 holds every out-of-stock product, category 2 every low-stock one (300 each).
  ['category_id + in_stock=true', { category_id: 3, in_stock: true }],
  ['category_id + in_stock=false', { category_id: 1, in_stock: false }],
  ['category_id + low_stock=true', { category_id: 2, low_stock: true }],
  ['category_id + low_stock=false', { category_id: 3, low_stock: false }],
  ['category_id + in_stock=true + low_stock=false + max_price', { category_id: 2, in_stock: true, low_stock: false, max_price: '40' }],
]

describe('product list plans', () => {
  for (const sort of [undefined, ...PRODUCT_SORTS] as Array<ProductSort | undefined>) {
    for (const [label, filters] of FILTERS) {
      // Links carry no stock (it changes with every order): a category's rare flag sorted by stock walks the
      // products' own index of that flag, which on 300 flagged products the planner rightly prefers to sort.
      if (sort?.endsWith('stock') && filters.category_id !== undefined && SELECTIVE.includes(label)) continue
      test(`sort=${sort ?? 'id'}, ${label}: first page and a deep cursor page`, async () => {
        const statement = productListStatement({ ...filters, sort })
        for (const request of [firstPage, await deepPage(statement)]) {
          expect(await problems(statement, request)).toEqual([])
          if (statement.readMatchesOnce) continue
          const { read, removed } = await pageReads(statement, request)
          // A page walks past the products its filters leave out (1 in 10 kept: 200 rows), never through a large share of them.
          expect(read).toBeLessThan(ROWS / 10)
          // The first page of a selective filter reads only its products (a deep one of a descending sort
          // may also pass over the rest of the cursor's tie group, in another index).
          if (SELECTIVE.includes(label) && request === firstPage) expect(removed).toBe(0)
        }
      })
    }
  }
})

/** The rows the page's scans read (the bounded count's apart), and how many of them its filters removed. */
async function pageReads(statement: ListStatement, request: PageRequest): Promise<{ read: number; removed: number }> {
  const { sql, params } = pageQuery(statement, request)
  const [row] = await dataSource.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, params)
  const plan = planNodes(row['QUERY PLAN'][0].Plan)
  const count = new Set(planNodes(plan.find((node) => node['Node Type'] === 'Aggregate')!))
  const scans = plan.filter((node) => !count.has(node) && node['Node Type'].includes('Scan'))
  const sum = (rows: (node: PlanNode) => number) => scans.reduce((total, node) => total + rows(node) * node['Actual Loops'], 0)
  const removed = sum((node) => node['Rows Removed by Filter'] ?? 0)
  return { read: sum((node) => node['Actual Rows']) + removed, removed }
}

describe('a category whose products all sit at one end of the sort', () => {
  // Sorted the other way, its first page is at the far end of the products' own sort index: walking
  // that index and keeping the category's products read 27,000 products first (at a million: 7.7 s).
  for (const [index, key] of FAR_END_KEYS.entries()) {
    test(`sort=-${key}: the first page and a deep cursor page read their own rows`, async () => {
      const [category] = await dataSource.query('SELECT min(id) + 20 + $1 AS id FROM categories', [index])
      const statement = productListStatement({ category_id: category.id, sort: `-${key}` })
      for (const request of [firstPage, await deepPage(statement)]) {
        expect(await problems(statement, request)).toEqual([])
        expect((await pageReads(statement, request)).read).toBeLessThan(MAX_READ)
      }
    })
  }

  // Category 3 has none of the low- or out-of-stock products: walking its links in the sort's order
  // and keeping the flagged ones read all 3,000 of them to find none (at a million: 68 ms).
  for (const [label, filters] of [['low_stock=true', { low_stock: true }], ['in_stock=false', { in_stock: false }]] as const) {
    for (const sort of [undefined, ...PRODUCT_SORTS.filter((sort) => !sort.includes('stock'))]) {
      test(`category_id + ${label}, sort=${sort ?? 'id'}, none in the category: the page and the count read nothing`, async () => {
        const statement = productListStatement({ ...filters, category_id: 3, sort })
        expect(await problems(statement, firstPage)).toEqual([])
        expect(await pageReads(statement, firstPage)).toEqual({ read: 0, removed: 0 })
      })
    }
  }
})

describe('prepared list statements', () => {
  // Each list statement is prepared once per connection (db/prepared.ts). With its limits as
  // parameters, PostgreSQL judged the generic plan by a LIMIT keeping a tenth of the matches and
  // planned every run anew at this size (and at a million rows), about 0.45 ms of each request.
  const lists: Array<[string, ListStatement]> = [
    ['GET /products', productListStatement({})],
    ['GET /products?sort=-price', productListStatement({ sort: '-price' })],
    ['GET /products?category_id', productListStatement({ category_id: 3 })],
    ['GET /products?category_id&low_stock=true&sort=name', productListStatement({ category_id: 2, low_stock: true, sort: 'name' })],
    ['GET /orders', orderListStatement()],
  ]
  for (const [label, statement] of lists) {
    test(`${label}: its first page keeps the plan cached after the first runs`, async () => {
      const { sql, params } = pageQuery(statement, firstPage)
      for (let run = 0; run < 10; run++) await preparedQuery(sql, params)
      // The pool hands out its most recently used connection: the one that ran them.
      const [plans] = await preparedQuery<{ generic_plans: string; custom_plans: string }>(
        'SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement = $1',
        [sql],
      )
      expect(Number(plans!.generic_plans) + Number(plans!.custom_plans)).toBe(10)
      expect(Number(plans!.generic_plans)).toBeGreaterThanOrEqual(5)
    })
  }

  test(`at most ${PREPARED_STATEMENT_LIMIT} texts are prepared; the rest run unnamed`, async () => {
    const texts = Array.from({ length: PREPARED_STATEMENT_LIMIT + 20 }, (_, i) => `SELECT $1::int + ${i} AS n /* prepared-limit test */`)
    for (const [i, text] of texts.entries()) expect(await preparedQuery<{ n: number }>(text, [1])).toEqual([{ n: 1 + i }])
    const [prepared] = await preparedQuery<{ n: string }>("SELECT count(*) AS n FROM pg_prepared_statements WHERE statement LIKE '%prepared-limit test%'", [])
    expect(Number(prepared!.n)).toBeLessThan(PREPARED_STATEMENT_LIMIT)
    expect(Number(prepared!.n)).toBeGreaterThan(0)
  })
})

describe('other list plans', () => {
  const lists: Array<[string, () => ListStatement]> = [
    ['GET /orders (all)', () => orderListStatement()],
    ["GET /orders (a customer's own)", () => orderListStatement(customerId)],
    ['GET /products/{id}/stock-movements', () => movementListStatement(productId)],
    ['GET /alerts', () => ALERT_LIST],
    ['GET /users', () => USER_LIST],
    ['GET /categories', () => CATEGORY_LIST],
  ]
  for (const [label, statement] of lists) {
    test(`${label}: first page and a deep cursor page`, async () => {
      expect(await problems(statement(), firstPage)).toEqual([])
      expect(await problems(statement(), await deepPage(statement()))).toEqual([])
    })
  }
})

describe('the checks themselves', () => {
  test('a list ordered by an unindexed column is caught', async () => {
    const statement = { ...USER_LIST, order: { key: { column: 'u.password_hash', type: 'text' }, id: 'u.id', descending: false } }
    expect(await problems(statement, firstPage)).not.toEqual([])
  })
})
