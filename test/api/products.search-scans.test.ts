/**
 * A `q` without three letters or digits in a row gives the trigram indexes nothing to narrow down:
 * such a search reads every product (a second of a core at a million products, bench/README.md).
 * They run one at a time across every process, behind a PostgreSQL advisory lock, on one core;
 * here another "replica" holding that lock is a second connection of the test.
 */
import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { Client } from 'pg'
import { dataSource } from '../../src/db/data-source'
import { listProductsQuery } from '../../src/modules/products/sql'
import { SCAN_LOCK_KEY, SCAN_SETTINGS, SCAN_WAIT_MS, SCANS_WAITING_PER_PROCESS, searchReadsEveryProduct, searchScansWaiting } from '../../src/modules/products/search-scans'
import { waitFor } from '../faults/harness'
import { insertProduct } from '../support/fixtures'
import { call, resetDatabase, type Seeded } from '../support/helpers'
import { planNodes } from '../support/plans'

const SCAN_REFUSED = {
  error: 'Too many requests',
  message: 'Too many searches for terms without three letters or digits in a row are running; try again in a moment, or search for a longer term.',
}

let users: Seeded
let otherReplica: Client
let lamp: number

/** Searches waiting for the lock, as PostgreSQL's lock table shows them. */
const waitingScans = async () =>
  Number((await dataSource.query(`SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`))[0].n)

const search = (q: string) => call<{ items: Array<{ id: number }> }>('GET', `/products?q=${encodeURIComponent(q)}`, { as: users.customer })

beforeEach(async () => {
  users = await resetDatabase()
  lamp = await insertProduct({ name: 'Brass lamp' })
  await insertProduct({ name: 'Oak chair' })
  otherReplica = new Client({ connectionString: process.env.DATABASE_URL })
  await otherReplica.connect()
})

afterEach(async () => {
  await otherReplica.end()
})

describe('which searches read every product', () => {
  test('terms without three letters or digits in a row; the trigram indexes narrow down every other', () => {
    for (const term of ['a', 'zq', 'a-b', 'x y', '%', '_', '---', 'zé']) expect([term, searchReadsEveryProduct(term)]).toEqual([term, true])
    for (const term of ['lam', 'brass lamp', 'C4CA4238', 'zéq', 'Ωzq', 'a-bcd']) expect([term, searchReadsEveryProduct(term)]).toEqual([term, false])
  })
})

describe('GET /products?q= that reads every product', () => {
  test('answers as any search does when none is running', async () => {
    expect((await search('am')).body.items.map((item) => item.id)).toEqual([lamp])
  })

  test('waits for the one another process is running, then answers', async () => {
    await otherReplica.query('SELECT pg_advisory_lock($1)', [String(SCAN_LOCK_KEY)])
    const waiting = search('am')
    await waitFor('the search to wait for the lock', 2000, async () => ((await waitingScans()) === 1 ? true : undefined))
    // Meanwhile every other request goes on: a product, the list, a search the indexes answer.
    expect((await call('GET', `/products/${lamp}`, { as: users.customer })).status).toBe(200)
    expect((await call('GET', '/products', { as: users.customer })).status).toBe(200)
    expect((await search('lamp')).body.items.map((item) => item.id)).toEqual([lamp])
    await otherReplica.query('SELECT pg_advisory_unlock($1)', [String(SCAN_LOCK_KEY)])
    const answer = await waiting
    expect([answer.status, answer.body.items.map((item) => item.id)]).toEqual([200, [lamp]])
  })

  test('once started, waits for a table lock as any query does (a migration\'s ALTER TABLE), past its turn\'s deadline', async () => {
    // A migration holds products; the search gets its turn at once, then its statement waits for the table.
    await otherReplica.query('BEGIN; LOCK TABLE products IN ACCESS EXCLUSIVE MODE')
    const waiting = search('am')
    await waitFor('the search to wait for the table', 2000, async () =>
      Number((await dataSource.query(`SELECT count(*) AS n FROM pg_locks WHERE relation = 'products'::regclass AND NOT granted`))[0].n) === 1 ? true : undefined,
    )
    await Bun.sleep(SCAN_WAIT_MS + 200)
    await otherReplica.query('COMMIT')
    const answer = await waiting
    expect([answer.status, answer.body.items?.map((item) => item.id)]).toEqual([200, [lamp]])
  })

  test(`one that cannot start within ${SCAN_WAIT_MS} ms → 429 with Retry-After, and nothing held`, async () => {
    await otherReplica.query('SELECT pg_advisory_lock($1)', [String(SCAN_LOCK_KEY)])
    const started = Date.now()
    // The first waits for the lock, the second in this process's line behind it.
    const refused = await Promise.all([search('am'), search('zq')])
    expect(Date.now() - started).toBeGreaterThanOrEqual(SCAN_WAIT_MS - 100)
    for (const answer of refused) expect([answer.status, answer.headers.get('retry-after'), answer.body as unknown]).toEqual([429, '1', SCAN_REFUSED])
    expect(await waitingScans()).toBe(0)
    await otherReplica.query('SELECT pg_advisory_unlock($1)', [String(SCAN_LOCK_KEY)])
    expect((await search('am')).status).toBe(200)
  })

  test(`in a process they wait in line, one connection among them; past ${SCANS_WAITING_PER_PROCESS} waiting → 429 at once`, async () => {
    await otherReplica.query('SELECT pg_advisory_lock($1)', [String(SCAN_LOCK_KEY)])
    // The first in line holds a connection, waiting for the lock; those behind it wait without one.
    const first = search('am')
    await waitFor('the first search to wait for the lock', 2000, async () => ((await waitingScans()) === 1 ? true : undefined))
    const burst = [first, ...Array.from({ length: SCANS_WAITING_PER_PROCESS }, (_, i) => search(i % 2 ? 'a' : 'am'))]
    await waitFor('the others to stand in line', 5000, async () => (searchScansWaiting() === SCANS_WAITING_PER_PROCESS ? true : undefined))
    expect(await waitingScans()).toBe(1)
    const started = Date.now()
    const refused = await search('zq')
    expect([refused.status, refused.body as unknown]).toEqual([429, SCAN_REFUSED])
    expect(Date.now() - started).toBeLessThan(500)
    await otherReplica.query('SELECT pg_advisory_unlock($1)', [String(SCAN_LOCK_KEY)])
    // Each answers in turn, well within its wait.
    expect((await Promise.all(burst)).map((answer) => answer.status)).toEqual(Array(1 + SCANS_WAITING_PER_PROCESS).fill(200))
    expect(await waitingScans()).toBe(0)
  })
})

describe('the scan runs on one core', () => {
  test('no parallel workers under its settings, where PostgreSQL would otherwise start them', async () => {
    await dataSource.query(
      `INSERT INTO products (name, description, price, stock_quantity, low_stock_threshold) SELECT 'Item ' || i, 'Plain', 10, 1, 0 FROM generate_series(1, 5000) i`,
    )
    await dataSource.query('ANALYZE products')
    const gathers = (settings: string) =>
      dataSource.transaction(async (manager) => {
        // Parallel plans made free, as they are in effect on a table of a million products.
        await manager.query('SET LOCAL parallel_setup_cost = 0; SET LOCAL parallel_tuple_cost = 0; SET LOCAL min_parallel_table_scan_size = 0')
        if (settings) await manager.query(settings)
        const { sql, params } = listProductsQuery({ q: 'zq' }, { limit: 20, offset: 0, scope: 'plan' })
        const [row] = await manager.query(`EXPLAIN (FORMAT JSON) ${sql}`, params)
        return planNodes(row['QUERY PLAN'][0].Plan).filter((node) => node['Node Type'] === 'Gather').length
      })
    expect(await gathers('')).toBeGreaterThan(0)
    expect(await gathers(SCAN_SETTINGS)).toBe(0)
  })
})
