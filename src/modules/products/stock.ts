/**
 * The stock ledger: every change of a product's stock goes through here, or through PLACE_ORDER
 * (orders/sql.ts), which does the same in one statement; both record alerts by crossesLowStock.
 */
import type { EntityManager } from 'typeorm'
import { HttpError, notFound } from '../../http/errors'
import { log } from '../../http/logger'
import { lowStockAlerts } from '../metrics/registry'
import { CHANGE_STOCK, RECORD_STOCK_CHANGE } from './sql'
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
 * Why a conditional stock change (CHANGE_STOCK, PLACE_ORDER) matched nothing: reads the row under
 * a lock and throws 404 or Insufficient stock with the real numbers. Returns when the change would
 * now succeed (stock arrived in between); the caller's retry then holds the lock and cannot fail.
 */
export async function explainRefusedChange(manager: EntityManager, productId: number, delta: number): Promise<void> {
  const [current] = await manager.query(
    'SELECT name, stock_quantity FROM products WHERE id = $1 AND deleted_at IS NULL FOR UPDATE',
    [productId],
  )
  if (!current) throw notFound('Product', productId)
  if (current.stock_quantity + delta < 0) throw insufficientStock(current.name, current.stock_quantity, -delta)
}

/**
 * Changes a product's stock by `delta` inside the caller's transaction, never below zero: one
 * conditional UPDATE, which cannot lose an update under concurrency.
 */
export async function changeStock(manager: EntityManager, productId: number, delta: number): Promise<StockChange> {
  for (;;) {
    // TypeORM answers an UPDATE with [rows, rowCount].
    const [[updated]] = await manager.query(CHANGE_STOCK, [productId, delta])
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
    await explainRefusedChange(manager, productId, delta)
  }
}

export interface LowStockCrossing {
  alertId: number
  productId: number
  stock: number
  threshold: number
}

/**
 * Writes the ledger row for a change (same transaction), and an alert when the change crosses the
 * threshold (crossesLowStock). Row locks order concurrent changes, so exactly one change can make
 * a given crossing: concurrent orders never record it twice.
 */
export async function recordStockChange(
  manager: EntityManager,
  change: StockChange,
  movement: { reason: MovementReason; userId: number | null; orderId?: number },
): Promise<LowStockCrossing | undefined> {
  const [alert] = await manager.query(RECORD_STOCK_CHANGE, [
    change.productId,
    change.before,
    change.after,
    change.threshold,
    movement.reason,
    movement.userId,
    movement.orderId ?? null,
  ])
  if (!alert) return undefined
  return { alertId: alert.id, productId: change.productId, stock: change.after, threshold: change.threshold }
}

/** The structured warning and the alert count for a recorded crossing; call it once the transaction has committed. */
export function logLowStock(crossing: LowStockCrossing | undefined) {
  if (!crossing) return
  lowStockAlerts.inc()
  log.warn('low stock', { alert_id: crossing.alertId, product_id: crossing.productId, stock: crossing.stock, threshold: crossing.threshold })
}
