/**
 * The products module's SQL: the reads (hand-written: one round trip per request, categories
 * folded in with json_agg, no entity hydration) and the stock ledger's statements. Imported by the
 * benchmark's R ceiling (bench/servers/) and the plan tests, so that they run exactly the SQL the
 * endpoints run.
 */
import type { z } from 'zod'
import { pageQuery, type KeysetOrder, type ListStatement, type PagedRow, type PageQuery, type PageRequest } from '../../http/pagination'
import type { productListQuery, productSchema, ProductSort, stockMovementSchema } from './schemas'

/** The most units a product may hold: `stock` in a PUT, and what adjustments may reach (int range with room). */
export const STOCK_MAX = 1_000_000_000

/** The filters and sort of a product list (its paging parameters apart). */
export type ProductFilters = Omit<z.output<typeof productListQuery>, keyof PageQuery>
export type PublicProduct = z.output<typeof productSchema>

/** A row of GET_PRODUCT or listProductsQuery(), as the driver hands it over. */
export interface ProductRow {
  id: number
  sku: string | null
  name: string
  description: string | null
  price: string
  stock_quantity: number
  low_stock_threshold: number
  categories: Array<{ id: number; name: string }>
  created_at: Date
  updated_at: Date
  /** Only in single-product reads (GET_PRODUCT), for the ETag. */
  version?: string
}

export const toPublicProduct = (row: ProductRow): PublicProduct => ({
  id: row.id,
  sku: row.sku,
  name: row.name,
  description: row.description,
  // numeric arrives as its exact decimal text; Number() of it is the nearest double, which
  // JSON prints back as the same text.
  price: Number(row.price),
  stock: row.stock_quantity,
  low_stock_threshold: row.low_stock_threshold,
  categories: row.categories,
  created_at: row.created_at.toISOString(),
  updated_at: row.updated_at.toISOString(),
})

const PRODUCT_COLUMNS = 'p.id, p.sku, p.name, p.description, p.price, p.stock_quantity, p.low_stock_threshold, p.created_at, p.updated_at'
const categoriesOf = (alias: string) => `COALESCE((
    SELECT json_agg(json_build_object('id', c.id, 'name', c.name) ORDER BY c.id)
    FROM product_categories pc JOIN categories c ON c.id = pc.category_id
    WHERE pc.product_id = ${alias}.id), '[]') AS categories`

/** Each sort's column and the type its cursor text is cast back to; ties go by id ascending, whatever the direction. */
const SORT_COLUMNS: Record<string, { column: string; type: string }> = {
  name: { column: 'name', type: 'varchar' },
  price: { column: 'price', type: 'numeric' },
  stock: { column: 'stock_quantity', type: 'int' },
  created_at: { column: 'created_at', type: 'timestamptz' },
}

/** The sort keys a category link carries a copy of, each in a (category_id, key, product_id) index per direction. */
const LINK_SORT_KEYS = ['name', 'price', 'created_at']

/** The order of a sort over `p` (products), or over `pc` (a category's links) for the keys they copy. */
export function productOrder(sort: ProductSort | undefined, alias: 'p' | 'pc' = 'p'): KeysetOrder {
  const descending = sort?.startsWith('-') ?? false
  const key = sort === undefined ? null : SORT_COLUMNS[descending ? sort.slice(1) : sort]!
  return { key: key && { column: `${alias}.${key.column}`, type: key.type }, id: alias === 'pc' ? 'pc.product_id' : 'p.id', descending }
}

/** One product, with the row version its ETag is made of. */
export const GET_PRODUCT = `SELECT ${PRODUCT_COLUMNS}, p.version, ${categoriesOf('p')} FROM products p WHERE p.id = $1 AND p.deleted_at IS NULL`

/** The same, locking the row for a write that depends on what was read (If-Match, the stock before). */
export const GET_PRODUCT_FOR_UPDATE = `${GET_PRODUCT} FOR NO KEY UPDATE OF p`

const escapeLike = (text: string) => text.replace(/[\\%_]/g, '\\$&')

/**
 * The filters as conditions on `p` (products), or, where a category's links `pc` drive the page
 * (`viaLinks`), on `p` joined to them: the category is then the links' own, a price range
 * compares their copy of the price, which their index orders, and the stock filters their flags.
 */
export function productConditions(filters: ProductFilters, viaLinks = false): { conditions: string[]; params: unknown[]; categoryParam?: string } {
  const params: unknown[] = []
  const param = (value: unknown) => `$${params.push(value)}`
  const conditions = ['p.deleted_at IS NULL']
  // The expression of the unique index products_sku_lower_key, so that it is what answers.
  if (filters.sku !== undefined) conditions.push(`lower(p.sku) = lower(${param(filters.sku)})`)
  if (filters.q !== undefined) {
    const pattern = param(`%${escapeLike(filters.q)}%`)
    conditions.push(`(p.name ILIKE ${pattern} OR p.description ILIKE ${pattern})`)
  }
  const categoryParam = filters.category_id === undefined ? undefined : param(filters.category_id)
  if (categoryParam) {
    conditions.push(viaLinks ? `pc.category_id = ${categoryParam}` : `EXISTS (SELECT 1 FROM product_categories pc WHERE pc.product_id = p.id AND pc.category_id = ${categoryParam})`)
  }
  const price = viaLinks ? 'pc.price' : 'p.price'
  if (filters.min_price !== undefined) conditions.push(`${price} >= ${param(filters.min_price)}::numeric`)
  if (filters.max_price !== undefined) conditions.push(`${price} <= ${param(filters.max_price)}::numeric`)
  // The links' flags are the product's stock compared with 0 and with its threshold (kept so by triggers).
  if (filters.in_stock !== undefined) {
    conditions.push(viaLinks ? `pc.in_stock = ${filters.in_stock}` : filters.in_stock ? 'p.stock_quantity > 0' : 'p.stock_quantity = 0')
  }
  if (filters.low_stock !== undefined) {
    conditions.push(
      viaLinks ? `pc.low_stock = ${filters.low_stock}` : filters.low_stock ? 'p.stock_quantity < p.low_stock_threshold' : 'p.stock_quantity >= p.low_stock_threshold',
    )
  }
  return { conditions, params, categoryParam }
}

/** The filters a category's links answer by themselves: their category, their copy of the price, and their stock flags. */
const LINK_FILTERS = new Set(['category_id', 'min_price', 'max_price', 'in_stock', 'low_stock', 'sort'])

export function productListStatement(filters: ProductFilters): ListStatement {
  const { conditions, params, categoryParam } = productConditions(filters)
  // The same filters on a category's links joined to their products (same params).
  const viaLinks = categoryParam ? productConditions(filters, true).conditions : undefined
  // A category alone, or with a price range or stock flags: its links are exactly its live products
  // (a deleted product leaves its categories) and carry their price and flags, so the count reads one
  // index, e.g. (category_id, product_id), or that of the category's in-stock links, instead of
  // joining the category's products to the others.
  const linksAnswerFilters = Object.entries(filters).every(([name, value]) => value === undefined || LINK_FILTERS.has(name))
  const count = viaLinks && linksAnswerFilters ? { from: 'product_categories pc', conditions: viaLinks.filter((condition) => condition.startsWith('pc.')) } : undefined
  const sortKey = filters.sort?.replace(/^-/, '')
  const stockFlag = filters.in_stock !== undefined || filters.low_stock !== undefined
  if (viaLinks && filters.q === undefined && (sortKey ? LINK_SORT_KEYS.includes(sortKey) : stockFlag)) {
    // The category's links in the sort's order (their index; by id, a flag's), each joined to its
    // product: the page reads its own rows however the category's products spread over the sort,
    // and a rare flag (low or out of stock) has an index of its own links per sort. Same count.
    return {
      from: 'product_categories pc JOIN products p ON p.id = pc.product_id',
      conditions: viaLinks,
      params,
      select: PRODUCT_COLUMNS,
      pageColumns: categoriesOf('page'),
      order: productOrder(filters.sort, 'pc'),
      count: count ?? { from: 'products p', conditions },
    }
  }
  // Categories are aggregated for the cut page's rows only.
  return {
    from: 'products p',
    conditions,
    params,
    select: PRODUCT_COLUMNS,
    pageColumns: categoriesOf('page'),
    order: productOrder(filters.sort),
    count,
    // The trigram indexes find a search's matches in no useful order.
    readMatchesOnce: filters.q !== undefined,
  }
}

export const listProductsQuery = (filters: ProductFilters, request: PageRequest) => pageQuery(productListStatement(filters), request)

export type PublicStockMovement = z.output<typeof stockMovementSchema>
export type MovementRow = Omit<PublicStockMovement, 'id' | 'created_at'> & { id: string; created_at: Date; product_exists: boolean } & PagedRow

export const toPublicMovement = (row: MovementRow): PublicStockMovement => ({
  id: Number(row.id),
  product_id: row.product_id,
  delta: row.delta,
  stock_after: row.stock_after,
  reason: row.reason,
  note: row.note,
  user_id: row.user_id,
  order_id: row.order_id,
  created_at: row.created_at.toISOString(),
})

/**
 * A product's ledger, newest first, through the (product_id, id) index. Every row (the empty
 * page's too) says whether the product exists, so that a missing one is a 404 in the same round trip.
 */
export const movementListStatement = (productId: number): ListStatement => ({
  from: 'stock_movements m',
  conditions: ['m.product_id = $1'],
  params: [productId],
  select: 'm.id, m.product_id, m.delta, m.stock_after, m.reason, m.note, m.user_id, m.order_id, m.created_at',
  pageColumns: 'EXISTS (SELECT 1 FROM products p WHERE p.id = $1 AND p.deleted_at IS NULL) AS product_exists',
  order: { key: null, id: 'm.id', descending: true },
})

/**
 * The one definition of a low-stock crossing: a change took the stock from at or above the
 * threshold to below it. Each argument is an SQL expression; every path that changes stock
 * (the one-statement order, the ledger below) records its alert under this condition.
 */
export const crossesLowStock = (before: string, after: string, threshold: string) =>
  `(${before} >= ${threshold} AND ${after} < ${threshold})`

/**
 * A stock change by $2, never below zero: matches nothing when the stock is short (or the product
 * is gone). The row lock it takes orders concurrent changes of one product.
 */
export const CHANGE_STOCK = `UPDATE products SET stock_quantity = stock_quantity + $2, updated_at = now()
  WHERE id = $1 AND deleted_at IS NULL AND stock_quantity + $2 >= 0
  RETURNING name, stock_quantity, low_stock_threshold`

/**
 * The ledger row of a change from $2 to $3 units, and its alert when that crosses the threshold
 * $4, in one statement: (product_id, before, after, threshold, reason, user_id, order_id).
 */
export const RECORD_STOCK_CHANGE = `
  WITH moved AS (
    INSERT INTO stock_movements (product_id, delta, stock_after, reason, user_id, order_id)
    VALUES ($1::int, $3::int - $2::int, $3::int, $5, $6::int, $7::int)
  )
  INSERT INTO alerts (product_id, stock, threshold, order_id)
  SELECT $1::int, $3::int, $4::int, $7::int WHERE ${crossesLowStock('$2::int', '$3::int', '$4::int')}
  RETURNING id`
