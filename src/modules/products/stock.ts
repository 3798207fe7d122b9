import type { EntityManager } from 'typeorm'
import { HttpError, notFound } from '../../http/errors'
import { log } from '../../http/logger'
import type { MovementReason } from './stock-movement.entity'

export interface StockChange {
  productId: number
  productName: string
  delta: number
  before: number
  after: number
  threshold: number
}

export const insufficientStock = (name: string, available: number, requested: number) =>
  new HttpError(
    400,
    'Insufficient stock',
    `There are only ${available} units of ${name} in stock, but you requested ${requested}.`,
  )

/**
 * Changes a product's stock by `delta` inside the caller's transaction, never below zero.
 *
 * The fast path is one conditional UPDATE, which cannot lose an update under concurrency. When it
 * matches nothing, the row is read under a lock so that the "insufficient stock" numbers are the
 * real ones; if stock arrived in between, the retry holds that lock and cannot fail.
 */
export async function changeStock(manager: EntityManager, productId: number, delta: number): Promise<StockChange> {
  for (;;) {
    // TypeORM answers an UPDATE with [rows, rowCount].
    const [[updated]] = await manager.query(
      `UPDATE products SET stock_quantity = stock_quantity + $2, updated_at = now()
       WHERE id = $1 AND deleted_at IS NULL AND stock_quantity + $2 >= 0
       RETURNING name, stock_quantity, low_stock_threshold`,
      [productId, delta],
    )
    if (updated) {
      return {
        productId,
        productName: updated.name,
        delta,
        before: updated.stock_quantity - delta,
        after: updated.stock_quantity,
        threshold: updated.low_stock_threshold,
      }
    }
    const [current] = await manager.query(
      'SELECT name, stock_quantity FROM products WHERE id = $1 AND deleted_at IS NULL FOR UPDATE',
      [productId],
    )
    if (!current) throw notFound('Product', productId)
    if (current.stock_quantity + delta < 0) throw insufficientStock(current.name, current.stock_quantity, -delta)
  }
}

export interface LowStockCrossing {
  alertId: number
  productId: number
  stock: number
  threshold: number
}

/** A low-stock crossing: the stock goes from at or above the threshold to below it. */
export const crossesLowStock = (before: number, after: number, threshold: number) => before >= threshold && after < threshold

/**
 * Writes the ledger row for a change (same transaction), and an alert when the change takes the
 * stock from at-or-above the threshold to below it. Row locks order concurrent changes, so exactly
 * one change can make a given crossing: concurrent orders never record it twice.
 */
export async function recordStockChange(
  manager: EntityManager,
  change: StockChange,
  movement: { reason: MovementReason; userId: number | null; orderId?: number },
): Promise<LowStockCrossing | undefined> {
  await manager.query(
    `INSERT INTO stock_movements (product_id, delta, stock_after, reason, user_id, order_id)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [change.productId, change.delta, change.after, movement.reason, movement.userId, movement.orderId ?? null],
  )
  if (!crossesLowStock(change.before, change.after, change.threshold)) return undefined
  const [alert] = await manager.query(
    'INSERT INTO alerts (product_id, stock, threshold, order_id) VALUES ($1, $2, $3, $4) RETURNING id',
    [change.productId, change.after, change.threshold, movement.orderId ?? null],
  )
  return { alertId: alert.id, productId: change.productId, stock: change.after, threshold: change.threshold }
}

/** The structured warning for a recorded crossing; call it once the transaction has committed. */
export function logLowStock(crossing: LowStockCrossing | undefined) {
  if (crossing) log.warn('low stock', { alert_id: crossing.alertId, product_id: crossing.productId, stock: crossing.stock, threshold: crossing.threshold })
}
