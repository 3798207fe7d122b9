/**
 * The SQL the product endpoints run, copied statement for statement from
 * src/modules/products/service.ts, for the R ceiling and the bench's EXPLAIN. When an endpoint's
 * SQL changes, this file changes with it. (Orders share src/modules/orders/sql.ts directly.)
 */

const PRODUCT_COLUMNS = 'p.id, p.name, p.description, p.price, p.stock_quantity, p.low_stock_threshold, p.created_at, p.updated_at'
const CATEGORIES_OF_P = `COALESCE((
    SELECT json_agg(json_build_object('id', c.id, 'name', c.name) ORDER BY c.id)
    FROM product_categories pc JOIN categories c ON c.id = pc.category_id
    WHERE pc.product_id = p.id), '[]') AS categories`

export const GET_PRODUCT = `SELECT ${PRODUCT_COLUMNS}, ${CATEGORIES_OF_P} FROM products p WHERE p.id = $1 AND p.deleted_at IS NULL`

const ORDER_BY: Record<string, string> = {
  id: 'p.id',
  name: 'p.name, p.id',
  '-name': 'p.name DESC, p.id',
  price: 'p.price, p.id',
  '-price': 'p.price DESC, p.id',
  stock: 'p.stock_quantity, p.id',
  '-stock': 'p.stock_quantity DESC, p.id',
  created_at: 'p.created_at, p.id',
  '-created_at': 'p.created_at DESC, p.id',
}

const escapeLike = (text: string) => text.replace(/[\\%_]/g, '\\$&')

/** listProducts' statement for the filters the bench uses (q, category_id, sort). */
export function listProductsQuery(filters: { q?: string; category_id?: number; sort?: string; limit: number; offset: number }) {
  const params: unknown[] = []
  const param = (value: unknown) => `$${params.push(value)}`
  const conditions = ['p.deleted_at IS NULL']
  if (filters.q !== undefined) {
    const pattern = param(`%${escapeLike(filters.q)}%`)
    conditions.push(`(p.name ILIKE ${pattern} OR p.description ILIKE ${pattern})`)
  }
  if (filters.category_id !== undefined) {
    conditions.push(`EXISTS (SELECT 1 FROM product_categories pc WHERE pc.product_id = p.id AND pc.category_id = ${param(filters.category_id)})`)
  }
  const orderBy = ORDER_BY[filters.sort ?? 'id']
  const limit = `$${params.length + 1}`
  const offset = `$${params.length + 2}`
  const sql = `SELECT p.*, ${CATEGORIES_OF_P} FROM (
       SELECT ${PRODUCT_COLUMNS}, count(*) OVER () AS total FROM products p
       WHERE ${conditions.join(' AND ')} ORDER BY ${orderBy} LIMIT ${limit} OFFSET ${offset}
     ) p ORDER BY ${orderBy}`
  return { sql, params: [...params, filters.limit, filters.offset] }
}
