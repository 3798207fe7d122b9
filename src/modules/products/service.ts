import { IsNull, type EntityManager, type QueryDeepPartialEntity } from 'typeorm'
import type { z } from 'zod'
import { config } from '../../config'
import { dataSource } from '../../db/data-source'
import { onUniqueViolation } from '../../db/errors'
import { preparedQuery } from '../../db/prepared'
import { ifMatchHolds, strongTag, type Versioned } from '../../http/conditional'
import { conflict, invalidInput, notFound, preconditionFailed } from '../../http/errors'
import { fetchPage, listScope, pageRequest, type Page, type PageQuery, type PagedRow } from '../../http/pagination'
import { Product } from './product.entity'
import { runSearchScan, searchReadsEveryProduct } from './search-scans'
import type { createProductBody, updateProductBody } from './schemas'
import {
  GET_PRODUCT,
  GET_PRODUCT_FOR_UPDATE,
  movementListStatement,
  productListStatement,
  toPublicMovement,
  toPublicProduct,
  type MovementRow,
  type ProductFilters,
  type ProductRow,
  type PublicProduct,
  type PublicStockMovement,
} from './sql'
import { changeStock, logLowStock, recordStockChange, type LowStockCrossing } from './stock'

/** The writable fields; `stock_quantity` is the input alias of `stock`. */
export type ProductChanges = z.output<typeof updateProductBody>
export type NewProduct = z.output<typeof createProductBody>

type Queryable = Pick<EntityManager, 'query'>

/**
 * The product's ETag: its row version, which every UPDATE of the row bumps (a trigger), and a
 * digest of its categories, whose names are part of the representation too (a rename or delete
 * of a category changes no product row).
 */
const productTag = (row: ProductRow) => strongTag(`${row.version}-${Bun.hash(JSON.stringify(row.categories)).toString(36)}`)

const versioned = (row: ProductRow): Versioned<PublicProduct> => ({ body: toPublicProduct(row), etag: productTag(row) })

async function findProduct(db: Queryable, id: number, statement = GET_PRODUCT): Promise<Versioned<PublicProduct>> {
  const [row]: ProductRow[] = await db.query(statement, [id])
  if (!row) throw notFound('Product', id)
  return versioned(row)
}

/** The hottest read: a named prepared statement (db/prepared.ts), planned once per connection. */
export async function getProduct(id: number): Promise<Versioned<PublicProduct>> {
  const [row] = await preparedQuery<ProductRow>(GET_PRODUCT, [id])
  if (!row) throw notFound('Product', id)
  return versioned(row)
}

export async function listProducts(query: ProductFilters & PageQuery): Promise<Page<PublicProduct>> {
  const { limit, offset, cursor, ...filters } = query
  const request = pageRequest({ limit, offset, cursor }, listScope('products', filters))
  // Prepared too: planning this statement costs more than running it on a small page. The texts
  // are a bounded set (one per combination of filters, sort, and cursor or not).
  // A term the trigram indexes cannot narrow down reads every product: one such search at a time.
  const run = filters.q !== undefined && searchReadsEveryProduct(filters.q) ? runSearchScan<ProductRow & PagedRow> : preparedQuery<ProductRow & PagedRow>
  return fetchPage(run, productListStatement(filters), request, toPublicProduct)
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

/** A clash on the case-insensitive SKU index (the products' only unique one besides the id) is the spec's 409. */
const uniqueSku = <T>(write: () => Promise<T>) => onUniqueViolation(write, () => conflict('A product with this SKU already exists.'))

export async function createProduct(input: NewProduct, userId: number): Promise<Versioned<PublicProduct>> {
  const stock = input.stock ?? input.stock_quantity
  if (stock === undefined) throw invalidInput('Product stock is required.')
  const threshold = input.low_stock_threshold ?? config.LOW_STOCK_THRESHOLD
  return uniqueSku(() => dataSource.transaction(async (manager) => {
    await assertCategoriesExist(manager, input.category_ids ?? [])
    const product = await manager.save(
      manager.create(Product, {
        sku: input.sku ?? null,
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
  }))
}

function columnChanges(changes: ProductChanges): QueryDeepPartialEntity<Product> {
  const columns: QueryDeepPartialEntity<Product> = { updatedAt: () => 'now()' }
  if (changes.sku !== undefined) columns.sku = changes.sku
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

/** Applies `changes` if `ifMatch` (an If-Match header) still names the current version, else 412 with nothing written. */
export async function updateProduct(
  id: number,
  changes: ProductChanges,
  userId: number,
  ifMatch?: string,
): Promise<Versioned<PublicProduct>> {
  const { product, crossing } = await uniqueSku(() => dataSource.transaction(async (manager) => {
    const current = await findProduct(manager, id, GET_PRODUCT_FOR_UPDATE)
    if (!ifMatchHolds(ifMatch, current.etag)) throw preconditionFailed('product')
    if (Object.keys(changes).length === 0) return { product: current, crossing: undefined }
    await assertCategoriesExist(manager, changes.category_ids ?? [])
    // Fields first, so that a new threshold is the one a stock change in the same request is judged by.
    await manager.update(Product, { id }, columnChanges(changes))
    const crossing = await adjustStock(manager, id, current.body.stock, changes.stock ?? changes.stock_quantity, userId)
    if (changes.category_ids) await replaceCategories(manager, id, changes.category_ids)
    return { product: await findProduct(manager, id), crossing }
  }))
  logLowStock(crossing)
  return product
}

/**
 * Soft delete: the row stays for the orders, movements and alerts that point at it; its category
 * links go (a category's links are exactly its live products, which its list counts from).
 */
export async function deleteProduct(id: number): Promise<void> {
  await dataSource.transaction(async (manager) => {
    const result = await manager.getRepository(Product).softDelete({ id, deletedAt: IsNull() })
    if (!result.affected) throw notFound('Product', id)
    await manager.query('DELETE FROM product_categories WHERE product_id = $1', [id])
  })
}

/** The cursors are bound to the product. One statement: the page, its count, and whether the product exists. */
export async function listStockMovements(productId: number, query: PageQuery): Promise<Page<PublicStockMovement>> {
  const request = pageRequest(query, listScope('stock-movements', { product_id: productId }))
  let productExists = false
  const page = await fetchPage(
    async (sql, params) => {
      const rows = await preparedQuery<MovementRow>(sql, params)
      productExists = rows[0]?.product_exists ?? false
      return rows
    },
    movementListStatement(productId),
    request,
    toPublicMovement,
  )
  if (!productExists) throw notFound('Product', productId)
  return page
}
