/**
 * Seeds the benchmark data directly with SQL (generate_series), which takes seconds even for
 * 200,000 products. A product's name is a material, a noun and a model code, e.g. "Copper lamp
 * 3C59DC": a search for a model code finds one product at any catalogue size, a search for a
 * material and a noun ("copper lamp") finds 1 product in 500.
 */
import type { Client } from 'pg'
import { loadConfig } from '../../src/config'

export const MATERIALS = ['oak', 'walnut', 'copper', 'brass', 'steel', 'linen', 'cotton', 'wool', 'marble', 'glass',
  'ceramic', 'bamboo', 'leather', 'silver', 'granite', 'cedar', 'maple', 'slate', 'velvet', 'pewter']
export const NOUNS = ['lamp', 'chair', 'table', 'shelf', 'vase', 'rug', 'mirror', 'clock', 'bowl', 'stool', 'bench',
  'cabinet', 'desk', 'frame', 'basket', 'kettle', 'mug', 'tray', 'cushion', 'blanket', 'candle', 'planter', 'hook',
  'lantern', 'crate']
export const CATEGORY_COUNT = 20
/** Large enough that no order workload can run a product out of stock. */
export const LARGE_STOCK = 1_000_000_000

export const BENCH_USER = { username: 'bench-customer', password: 'bench-customer-password' }
export const BENCH_ADMIN = { username: 'bench-admin', password: 'bench-admin-password' }

const sqlArray = (words: string[]) => `ARRAY[${words.map((w) => `'${w}'`).join(',')}]`

/** The model code in the name of product `i`: 6 hex digits of md5(i), so that they look random. */
export const modelCode = (i: number) => new Bun.CryptoHasher('md5').update(String(i)).digest('hex').slice(0, 6).toUpperCase()
const MODEL_CODE_SQL = `upper(left(md5(i::text), 6))`

/** Empties every table and seeds users (real argon2id hashes, the API's own parameters) and categories. */
export async function seedBase(db: Client): Promise<{ customerId: number; adminId: number }> {
  // The API runs with its default cost; hash with exactly those parameters.
  const defaults = loadConfig({})
  const hash = (password: string) =>
    Bun.password.hash(password, { algorithm: 'argon2id', memoryCost: defaults.PASSWORD_MEMORY_KIB, timeCost: defaults.PASSWORD_TIME_COST })
  await db.query('TRUNCATE alerts, stock_movements, orders, product_categories, products, categories, users RESTART IDENTITY CASCADE')
  const { rows } = await db.query(
    `INSERT INTO users (username, password_hash, role) VALUES ($1, $2, 'admin'), ($3, $4, 'customer') RETURNING id, role`,
    [BENCH_ADMIN.username, await hash(BENCH_ADMIN.password), BENCH_USER.username, await hash(BENCH_USER.password)],
  )
  await db.query(
    `INSERT INTO categories (name, description) SELECT 'Category ' || i, 'Benchmark category ' || i FROM generate_series(1, ${CATEGORY_COUNT}) i`,
  )
  return { customerId: rows.find((row) => row.role === 'customer').id, adminId: rows.find((row) => row.role === 'admin').id }
}

/**
 * Waits until no other session of this database is running a statement. After wrk stops, the
 * servers still finish the requests it had in flight; a TRUNCATE among them could deadlock.
 */
async function waitForQuiet(db: Client) {
  for (let waited = 0; waited < 30_000; waited += 100) {
    const { rows } = await db.query(
      `SELECT count(*)::int AS busy FROM pg_stat_activity
       WHERE datname = current_database() AND pid <> pg_backend_pid() AND state NOT IN ('idle')`,
    )
    if (rows[0].busy === 0) return
    await Bun.sleep(100)
  }
  throw new Error('the database did not become idle within 30 s')
}

/** Replaces the products (and what refers to them) with `count` new ones, each in two categories, with their ledger rows. */
export async function seedProducts(db: Client, count: number, options: { lowStockEvery?: number; analyze?: boolean } = {}): Promise<void> {
  await waitForQuiet(db)
  await db.query('TRUNCATE alerts, stock_movements, orders, product_categories, products RESTART IDENTITY CASCADE')
  await db.query(
    `INSERT INTO products (name, description, price, stock_quantity, low_stock_threshold, created_at, updated_at)
     SELECT initcap(m[1 + i % 20]) || ' ' || n[1 + (i / 20) % 25] || ' ' || ${MODEL_CODE_SQL},
            'A ' || n[1 + (i / 20) % 25] || ' for every day, batch ' || (i % 97),
            ((i::bigint * 7919) % 100000) / 100.0 + 1,
            CASE WHEN i % $3 = 0 THEN 5 ELSE $2 END, 10,
            now() - make_interval(secs => $1 - i), now() - make_interval(secs => $1 - i)
     FROM generate_series(1, $1::int) i, (SELECT ${sqlArray(MATERIALS)} AS m, ${sqlArray(NOUNS)} AS n) words`,
    [count, LARGE_STOCK, options.lowStockEvery ?? 2 ** 31 - 1],
  )
  await db.query(
    `INSERT INTO product_categories (product_id, category_id)
     SELECT id, 1 + id % ${CATEGORY_COUNT} FROM products
     UNION SELECT id, 1 + (id / ${CATEGORY_COUNT} + 3) % ${CATEGORY_COUNT} FROM products`,
  )
  await db.query(`INSERT INTO stock_movements (product_id, delta, stock_after, reason) SELECT id, stock_quantity, stock_quantity, 'initial' FROM products`)
  if (options.analyze ?? true) await db.query('VACUUM ANALYZE')
}

/**
 * The scale section's data: `count` products (1 in 100 below its low-stock threshold), as many
 * orders (every other one the bench customer's), movements of product 1 and alerts of product 1.
 */
export async function seedScale(db: Client, count: number, users: { customerId: number; adminId: number }): Promise<void> {
  await seedProducts(db, count, { lowStockEvery: 100, analyze: false })
  await db.query(
    `INSERT INTO orders (product_id, user_id, quantity, status) SELECT 1 + i % $1, CASE WHEN i % 2 = 0 THEN $2::int ELSE $3::int END, 1, 'Completed'
     FROM generate_series(1, $1::int) i`,
    [count, users.customerId, users.adminId],
  )
  await db.query(`INSERT INTO stock_movements (product_id, delta, stock_after, reason) SELECT 1, 1, ${LARGE_STOCK} + i, 'adjustment' FROM generate_series(1, $1::int) i`, [count])
  await db.query(`INSERT INTO alerts (product_id, stock, threshold) SELECT 1, 5, 10 FROM generate_series(1, $1::int) i`, [count])
  // As autovacuum would after a bulk load: statistics, the visibility map (index-only counts), GIN pending lists merged.
  await db.query('VACUUM ANALYZE')
}
