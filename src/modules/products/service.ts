import { IsNull, type EntityManager, type QueryDeepPartialEntity } from 'typeorm'
import { config } from '../../config'
import { dataSource } from '../../db/data-source'
import { invalidInput, notFound } from '../../http/errors'
import type { Page } from '../../http/validation'
import { Product } from './product.entity'
import type { ProductSort } from './schemas'
import { changeStock, logLowStock, recordStockChange, type LowStockCrossing } from './stock'
import { StockMovement, type MovementReason } from './stock-movement.entity'

export interface PublicProduct {
  id: number
  name: string
  description: string | null
  price: number
  stock: number
  low_stock_threshold: number
  categories: Array<{ id: number; name: string }>
  created_at: string
  updated_at: string
}

export interface PublicStockMovement {
  id: number
  product_id: number
  delta: number
  stock_after: number
  reason: MovementReason
  user_id: number | null
  order_id: number | null
  created_at: string
}

/** The writable fields; `stock_quantity` is the input alias of `stock`. */
export interface ProductChanges {
  name?: string
  description?: string | null
  price?: number
  stock?: number
  stock_quantity?: number
  low_stock_threshold?: number
  category_ids?: number[]
}

export type NewProduct = ProductChanges & { name: string; price: number }

export interface ProductFilters {
  q?: string
  category_id?: number
  min_price?: string
  max_price?: string
  in_stock?: boolean
  low_stock?: boolean
  sort?: ProductSort
  limit: number
  offset: number
}

interface ProductRow {
  id: number
  name: string
  description: string | null
  price: string
  stock_quantity: number
  low_stock_threshold: number
  categories: Array<{ id: number; name: string }>
  created_at: Date
  updated_at: Date
}

type Queryable = Pick<EntityManager, 'query'>

// The read paths are hand-written SQL: one round trip per request, categories folded in with
// json_agg, no entity hydration; they are what the benchmark measures against bare pg.
const PRODUCT_COLUMNS = 'p.id, p.name, p.description, p.price, p.stock_quantity, p.low_stock_threshold, p.created_at, p.updated_at'
const CATEGORIES_OF_P = `COALESCE((
    SELECT json_agg(json_build_object('id', c.id, 'name', c.name) ORDER BY c.id)
    FROM product_categories pc JOIN categories c ON c.id = pc.category_id
    WHERE pc.product_id = p.id), '[]') AS categories`

const ORDER_BY: Record<ProductSort | 'id', string> = {
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

const toPublicProduct = (row: ProductRow): PublicProduct => ({
  id: row.id,
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

async function findProduct(db: Queryable, id: number): Promise<PublicProduct> {
  const [row]: ProductRow[] = await db.query(
    `SELECT ${PRODUCT_COLUMNS}, ${CATEGORIES_OF_P} FROM products p WHERE p.id = $1 AND p.deleted_at IS NULL`,
    [id],
  )
  if (!row) throw notFound('Product', id)
  return toPublicProduct(row)
}

export const getProduct = (id: number) => findProduct(dataSource, id)

const escapeLike = (text: string) => text.replace(/[\\%_]/g, '\\$&')

function productConditions(filters: ProductFilters): { where: string; params: unknown[] } {
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
  return { where: conditions.join(' AND '), params }
}

export async function listProducts(filters: ProductFilters): Promise<Page<PublicProduct>> {
  const { where, params } = productConditions(filters)
  const orderBy = ORDER_BY[filters.sort ?? 'id']
  const limit = `$${params.length + 1}`
  const offset = `$${params.length + 2}`
  // The page is cut first, so categories are aggregated for its rows only; the window count
  // brings the total along in the same round trip.
  const rows: Array<ProductRow & { total: string }> = await dataSource.query(
    `SELECT p.*, ${CATEGORIES_OF_P} FROM (
       SELECT ${PRODUCT_COLUMNS}, count(*) OVER () AS total FROM products p
       WHERE ${where} ORDER BY ${orderBy} LIMIT ${limit} OFFSET ${offset}
     ) p ORDER BY ${orderBy}`,
    [...params, filters.limit, filters.offset],
  )
  const total = rows[0] ? Number(rows[0].total) : await countProducts(where, params, filters.offset)
  return { items: rows.map(toPublicProduct), total, limit: filters.limit, offset: filters.offset }
}

/** A page past the end has no row to carry the window count. */
async function countProducts(where: string, params: unknown[], offset: number): Promise<number> {
  if (offset === 0) return 0
  const [row] = await dataSource.query(`SELECT count(*) AS total FROM products p WHERE ${where}`, params)
  return Number(row.total)
}

/** Locks the categories against a concurrent delete until the links are written. */
async function assertCategoriesExist(manager: EntityManager, ids: number[]) {
  if (ids.length === 0) return
  const rows: Array<{ id: number }> = await manager.query('SELECT id FROM categories WHERE id = ANY($1::int[]) FOR KEY SHARE', [ids])
  const found = new Set(rows.map((row) => row.id))
  const missing = ids.find((id) => !found.has(id))
  if (missing !== undefined) throw notFound('Category', missing)
}

async function linkCategories(manager: EntityManager, productId: number, ids: number[]) {
  if (ids.length === 0) return
  await manager.query('INSERT INTO product_categories (product_id, category_id) SELECT $1, unnest($2::int[])', [productId, ids])
}

async function replaceCategories(manager: EntityManager, productId: number, ids: number[]) {
  await manager.query('DELETE FROM product_categories WHERE product_id = $1', [productId])
  await linkCategories(manager, productId, ids)
}

export async function createProduct(input: NewProduct, userId: number): Promise<PublicProduct> {
  const stock = input.stock ?? input.stock_quantity
  if (stock === undefined) throw invalidInput('Product stock is required.')
  const threshold = input.low_stock_threshold ?? config.LOW_STOCK_THRESHOLD
  return dataSource.transaction(async (manager) => {
    await assertCategoriesExist(manager, input.category_ids ?? [])
    const product = await manager.save(
      manager.create(Product, {
        name: input.name,
        description: input.description ?? null,
        price: String(input.price),
        stockQuantity: stock,
        lowStockThreshold: threshold,
      }),
    )
    await linkCategories(manager, product.id, input.category_ids ?? [])
    // The ledger refuses a zero delta: a product created empty has no movement yet.
    if (stock > 0) {
      const change = { productId: product.id, productName: product.name, delta: stock, before: 0, after: stock, threshold }
      await recordStockChange(manager, change, { reason: 'initial', userId })
    }
    return findProduct(manager, product.id)
  })
}

function columnChanges(changes: ProductChanges): QueryDeepPartialEntity<Product> {
  const columns: QueryDeepPartialEntity<Product> = { updatedAt: () => 'now()' }
  if (changes.name !== undefined) columns.name = changes.name
  if (changes.description !== undefined) columns.description = changes.description
  if (changes.price !== undefined) columns.price = String(changes.price)
  if (changes.low_stock_threshold !== undefined) columns.lowStockThreshold = changes.low_stock_threshold
  return columns
}

/** Applies a new stock level as a delta through the ledger, so the movements keep adding up. */
async function adjustStock(
  manager: EntityManager,
  productId: number,
  current: number,
  target: number | undefined,
  userId: number,
): Promise<LowStockCrossing | undefined> {
  if (target === undefined || target === current) return undefined
  const change = await changeStock(manager, productId, target - current)
  return recordStockChange(manager, change, { reason: 'adjustment', userId })
}

export async function updateProduct(id: number, changes: ProductChanges, userId: number): Promise<PublicProduct> {
  const { product, crossing } = await dataSource.transaction(async (manager) => {
    const [current] = await manager.query('SELECT stock_quantity FROM products WHERE id = $1 AND deleted_at IS NULL FOR UPDATE', [id])
    if (!current) throw notFound('Product', id)
    if (Object.keys(changes).length === 0) return { product: await findProduct(manager, id), crossing: undefined }
    await assertCategoriesExist(manager, changes.category_ids ?? [])
    // Fields first, so that a new threshold is the one a stock change in the same request is judged by.
    await manager.update(Product, { id }, columnChanges(changes))
    const crossing = await adjustStock(manager, id, current.stock_quantity, changes.stock ?? changes.stock_quantity, userId)
    if (changes.category_ids) await replaceCategories(manager, id, changes.category_ids)
    return { product: await findProduct(manager, id), crossing }
  })
  logLowStock(crossing)
  return product
}

/** Soft delete: the row stays for the orders, movements and alerts that point at it. */
export async function deleteProduct(id: number): Promise<void> {
  const result = await dataSource.getRepository(Product).softDelete({ id, deletedAt: IsNull() })
  if (!result.affected) throw notFound('Product', id)
}

export async function listStockMovements(productId: number, limit: number, offset: number): Promise<Page<PublicStockMovement>> {
  if (!(await dataSource.getRepository(Product).existsBy({ id: productId }))) throw notFound('Product', productId)
  const [rows, total] = await dataSource.getRepository(StockMovement).findAndCount({
    where: { productId },
    order: { id: 'DESC' },
    take: limit,
    skip: offset,
  })
  const items = rows.map((movement) => ({
    id: Number(movement.id),
    product_id: movement.productId,
    delta: movement.delta,
    stock_after: movement.stockAfter,
    reason: movement.reason,
    user_id: movement.userId,
    order_id: movement.orderId,
    created_at: movement.createdAt.toISOString(),
  }))
  return { items, total, limit, offset }
}
