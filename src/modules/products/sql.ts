/**
 * The product read statements, imported by the benchmark's R ceiling (bench/servers/) and the plan
 * tests, so that they run exactly the SQL the endpoints run. Hand-written: one
 * round trip per request, categories folded in with json_agg, no entity hydration.
 */
import { pageQuery, type KeysetOrder, type ListStatement, type PageRequest } from '../../http/pagination'
import type { ProductSort } from './schemas'

export interface ProductFilters {
  q?: string
  category_id?: number
  min_price?: string
  max_price?: string
  in_stock?: boolean
  low_stock?: boolean
  sort?: ProductSort
}

const PRODUCT_COLUMNS = 'p.id, p.name, p.description, p.price, p.stock_quantity, p.low_stock_threshold, p.created_at, p.updated_at'
const categoriesOf = (alias: string) => `COALESCE((
    SELECT json_agg(json_build_object('id', c.id, 'name', c.name) ORDER BY c.id)
    FROM product_categories pc JOIN categories c ON c.id = pc.category_id
    WHERE pc.product_id = ${alias}.id), '[]') AS categories`

/** Each sort's column and the type its cursor text is cast back to; ties go by id, in the same direction. */
const SORT_COLUMNS: Record<string, { column: string; type: string }> = {
  name: { column: 'p.name', type: 'varchar' },
  price: { column: 'p.price', type: 'numeric' },
  stock: { column: 'p.stock_quantity', type: 'int' },
  created_at: { column: 'p.created_at', type: 'timestamptz' },
}

export function productOrder(sort: ProductSort | undefined): KeysetOrder {
  const descending = sort?.startsWith('-') ?? false
  const key = sort === undefined ? null : SORT_COLUMNS[descending ? sort.slice(1) : sort]!
  return { key, id: 'p.id', descending }
}

export const GET_PRODUCT = `SELECT ${PRODUCT_COLUMNS}, ${categoriesOf('p')} FROM products p WHERE p.id = $1 AND p.deleted_at IS NULL`

const escapeLike = (text: string) => text.replace(/[\\%_]/g, '\\$&')

export function productConditions(filters: ProductFilters): { conditions: string[]; params: unknown[] } {
  const params: unknown[] = []
  const param = (value: unknown) => `$${params.push(value)}`
  const conditions = ['p.deleted_at IS NULL']
  if (filters.q !== undefined) {
    const pattern = param(`%${escapeLike(filters.q)}%`)
    conditions.push(`(p.name ILIKE ${pattern} OR p.description ILIKE ${pattern})`)
  }
  if (filters.category_id !== undefined) {
    conditions.push(
      `EXISTS (SELECT 1 FROM product_categories pc WHERE pc.product_id = p.id AND pc.category_id = ${param(filters.category_id)})`,
    )
  }
  if (filters.min_price !== undefined) conditions.push(`p.price >= ${param(filters.min_price)}::numeric`)
  if (filters.max_price !== undefined) conditions.push(`p.price <= ${param(filters.max_price)}::numeric`)
  if (filters.in_stock !== undefined) conditions.push(filters.in_stock ? 'p.stock_quantity > 0' : 'p.stock_quantity = 0')
  if (filters.low_stock !== undefined) {
    conditions.push(filters.low_stock ? 'p.stock_quantity < p.low_stock_threshold' : 'p.stock_quantity >= p.low_stock_threshold')
  }
  return { conditions, params }
}

export function productListStatement(filters: ProductFilters): ListStatement {
  const { conditions, params } = productConditions(filters)
  // Categories are aggregated for the cut page's rows only.
  return { from: 'products p', conditions, params, select: PRODUCT_COLUMNS, pageColumns: categoriesOf('page'), order: productOrder(filters.sort) }
}

export const listProductsQuery = (filters: ProductFilters, request: PageRequest) => pageQuery(productListStatement(filters), request)

/** A product's ledger, newest first, through the (product_id, id) index. */
export const movementListStatement = (productId: number): ListStatement => ({
  from: 'stock_movements m',
  conditions: ['m.product_id = $1'],
  params: [productId],
  select: 'm.id, m.product_id, m.delta, m.stock_after, m.reason, m.user_id, m.order_id, m.created_at',
  order: { key: null, id: 'm.id', descending: true },
})
