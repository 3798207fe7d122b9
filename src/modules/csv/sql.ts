/**
 * The CSV statements, free of runtime imports beyond the products list's own SQL and the cell rule, so that the
 * benchmark's COPY ceilings (bench/) read and write exactly the rows the endpoints do.
 */
import { orderByOf } from '../../http/pagination'
import { crossesLowStock, productConditions, productOrder, type ProductFilters } from '../products/sql'
import { neutralisedSql } from './cells'

export const EXPORT_COLUMNS = [
  'id',
  'sku',
  'name',
  'description',
  'price',
  'stock',
  'low_stock_threshold',
  'categories',
  'created_at',
  'updated_at',
] as const

/**
 * Every cell as the CSV shows it, formatted by PostgreSQL (exact decimal text, ISO 8601 UTC with
 * milliseconds as in the JSON responses, category names joined by `|`, formula-like text
 * neutralised), named as the header row names it, so that COPY … CSV writes the file.
 */
const EXPORT_SELECT = `SELECT p.id, ${neutralisedSql('p.sku')} AS sku, ${neutralisedSql('p.name')} AS name,
    ${neutralisedSql('p.description')} AS description, p.price::text AS price, p.stock_quantity AS stock, p.low_stock_threshold,
    ${neutralisedSql('linked.categories')} AS categories,
    to_char(p.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS created_at,
    to_char(p.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS updated_at
  FROM products p
  CROSS JOIN LATERAL (SELECT string_agg(c.name, '|' ORDER BY c.id) AS categories
    FROM product_categories pc JOIN categories c ON c.id = pc.category_id
    WHERE pc.product_id = p.id) linked`

/** The list's own filters and order, without the page: the whole matching catalogue. */
export function exportProductsQuery(filters: ProductFilters): { sql: string; params: unknown[] } {
  const { conditions, params } = productConditions(filters)
  return { sql: `${EXPORT_SELECT} WHERE ${conditions.join(' AND ')} ORDER BY ${orderByOf(productOrder(filters.sort))}`, params }
}

/** The live products the file's SKUs name (case-insensitive, through the lower(sku) index), in id order. */
export const PRODUCTS_BY_SKU = `SELECT u.sku AS given, p.id, p.sku, p.name, p.description, p.price::text AS price, p.stock_quantity,
    p.low_stock_threshold,
    ARRAY(SELECT pc.category_id FROM product_categories pc WHERE pc.product_id = p.id ORDER BY pc.category_id) AS category_ids
  FROM unnest($1::text[]) AS u(sku)
  JOIN products p ON lower(p.sku) = lower(u.sku) AND p.sku IS NOT NULL AND p.deleted_at IS NULL
  ORDER BY p.id`

export const CATEGORIES_BY_NAME = `SELECT u.name AS given, c.id FROM unnest($1::text[]) AS u(name)
  JOIN categories c ON lower(c.name) = lower(u.name)`

export const INSERT_PRODUCTS = `INSERT INTO products (sku, name, description, price, stock_quantity, low_stock_threshold)
  SELECT * FROM unnest($1::varchar[], $2::varchar[], $3::text[], $4::numeric[], $5::int[], $6::int[])
  RETURNING id, sku`

export const UPDATE_PRODUCTS = `UPDATE products p SET sku = u.sku, name = u.name, description = u.description, price = u.price,
    stock_quantity = u.stock, low_stock_threshold = u.threshold, updated_at = now()
  FROM unnest($1::int[], $2::varchar[], $3::varchar[], $4::text[], $5::numeric[], $6::int[], $7::int[])
    AS u(id, sku, name, description, price, stock, threshold)
  WHERE p.id = u.id`

export const INSERT_MOVEMENTS = `INSERT INTO stock_movements (product_id, delta, stock_after, reason, user_id)
  SELECT m.product_id, m.delta, m.stock_after, 'import', $4 FROM unnest($1::int[], $2::int[], $3::int[]) AS m(product_id, delta, stock_after)`

/** The alerts of the stock changes (product, before, after, threshold) that cross their threshold. */
export const INSERT_ALERTS = `INSERT INTO alerts (product_id, stock, threshold)
  SELECT c.product_id, c.stock_after, c.threshold
  FROM unnest($1::int[], $2::int[], $3::int[], $4::int[]) AS c(product_id, stock_before, stock_after, threshold)
  WHERE ${crossesLowStock('c.stock_before', 'c.stock_after', 'c.threshold')}
  RETURNING id, product_id, stock, threshold`

export const UNLINK_CATEGORIES = 'DELETE FROM product_categories WHERE product_id = ANY($1::int[])'

export const INSERT_CATEGORY_LINKS = `INSERT INTO product_categories (product_id, category_id)
  SELECT * FROM unnest($1::int[], $2::int[])`

/**
 * The export as one COPY … CSV statement, so PostgreSQL writes the file (RFC 4180 quoting, LF
 * record ends). COPY takes no bind parameters: the filters' values, already validated, are
 * inlined as literals through the driver's `escapeLiteral`.
 */
export function exportCopyStatement(filters: ProductFilters, escapeLiteral: (text: string) => string): string {
  const { sql, params } = exportProductsQuery(filters)
  const inlined = sql.replace(/\$(\d+)/g, (_, index: string) => escapeLiteral(String(params[Number(index) - 1])))
  return `COPY (${inlined}) TO STDOUT WITH (FORMAT csv, HEADER true)`
}
