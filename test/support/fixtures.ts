import { query } from './helpers'

export interface ProductFixture {
  name?: string
  price?: string
  stock?: number
  threshold?: number
}

/**
 * Inserts a product straight into the database, with its 'initial' movement when it has stock,
 * so the ledger invariant (stock = sum of movements) holds from the start.
 */
export async function insertProduct({ name = 'Product A', price = '9.99', stock = 0, threshold = 10 }: ProductFixture = {}): Promise<number> {
  const [product] = await query<{ id: number }>(
    'INSERT INTO products (name, price, stock_quantity, low_stock_threshold) VALUES ($1, $2, $3, $4) RETURNING id',
    [name, price, stock, threshold],
  )
  const id = product!.id
  if (stock > 0) {
    await query(`INSERT INTO stock_movements (product_id, delta, stock_after, reason) VALUES ($1, $2, $2, 'initial')`, [id, stock])
  }
  return id
}

/** The product's stock and the sum of its movements, which must always agree. */
export async function stockOf(productId: number): Promise<{ stock: number; ledger: number }> {
  const [row] = await query<{ stock: number; ledger: number }>(
    `SELECT stock_quantity AS stock, (SELECT coalesce(sum(delta), 0)::int FROM stock_movements WHERE product_id = $1) AS ledger
     FROM products WHERE id = $1`,
    [productId],
  )
  return row!
}
