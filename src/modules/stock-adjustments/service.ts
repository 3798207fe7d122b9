import type { EntityManager } from 'typeorm'
import { preparedQuery } from '../../db/prepared'
import { conflict, HttpError, invalidInput, notFound } from '../../http/errors'
import { runIdempotently, type Idempotent, type StoredResponse } from '../idempotency/idempotency'
import { STOCK_MAX } from '../products/sql'
import type { PublicStockMovement } from '../products/sql'
import { logLowStock } from '../products/stock'
import type { AdjustmentRequest, BulkAdjustmentRequest } from './schemas'
import { ADJUST_STOCK, adjustmentParameters, toPublicMovements, type AdjustmentFailure, type AdjustmentRow } from './sql'

type Item = AdjustmentRequest & { product_id?: number; sku?: string }
type Alerts = NonNullable<AdjustmentRow['alerts']>

/** The spec's error for a refused item, without its position. */
function refusal(failure: AdjustmentFailure): HttpError {
  switch (failure.failure) {
    case 'not_found':
      return failure.product_id !== null
        ? notFound('Product', failure.product_id)
        : new HttpError(404, 'Product not found', 'There is no product with this SKU.')
    case 'stale':
      return conflict(`The stock is ${failure.stock}, not the expected ${failure.expected_stock}.`)
    case 'below_zero':
      return invalidInput(`Stock cannot go below zero: ${failure.stock} in stock, delta ${failure.delta}.`)
    case 'above_max':
      return invalidInput(`Stock cannot go above ${STOCK_MAX}: ${failure.stock} in stock, delta ${failure.delta}.`)
  }
}

/** A bulk item's error names its position ("Item 3: …"). */
export const atItem = (position: number, error: HttpError) => new HttpError(error.status, error.title, `Item ${position}: ${error.message}`)

/**
 * Runs ADJUST_STOCK (on its own, or inside the Idempotency-Key's transaction) and turns its row
 * into the movements, in the items' order, or the first failing item's error.
 */
async function applyAdjustments(
  items: Item[],
  userId: number,
  refused: (failure: AdjustmentFailure) => HttpError,
  manager?: EntityManager,
): Promise<{ movements: PublicStockMovement[]; alerts: Alerts }> {
  const values = adjustmentParameters(items, userId)
  const [row]: AdjustmentRow[] = manager ? await manager.query(ADJUST_STOCK, values) : await preparedQuery<AdjustmentRow>(ADJUST_STOCK, values)
  if (row!.failure) throw refused(row!.failure)
  return { movements: toPublicMovements(row!, userId) as PublicStockMovement[], alerts: row!.alerts ?? [] }
}

const logCrossings = (alerts: Alerts = []) =>
  alerts.forEach((alert) => logLowStock({ alertId: alert.id, productId: alert.product_id, stock: alert.stock, threshold: alert.threshold }))

/** Without a key one statement does it all; with one, the shared Idempotency-Key transaction wraps it. */
async function adjust(
  userId: number,
  items: Item[],
  toResponse: (movements: PublicStockMovement[]) => StoredResponse,
  refused: (failure: AdjustmentFailure) => HttpError,
  idempotency?: { key: string; request: unknown },
): Promise<Idempotent<Alerts>> {
  if (idempotency === undefined) {
    const { movements, alerts } = await applyAdjustments(items, userId, refused)
    logCrossings(alerts)
    return { response: toResponse(movements), replayed: false }
  }
  const outcome = await runIdempotently({ userId, ...idempotency }, async (manager) => {
    const { movements, alerts } = await applyAdjustments(items, userId, refused, manager)
    return { response: toResponse(movements), result: alerts }
  })
  logCrossings(outcome.result)
  return outcome
}

/** One adjustment of one product's stock, recorded as one ledger movement (201 with it). */
export function adjustProductStock(userId: number, productId: number, request: AdjustmentRequest, idempotencyKey?: string) {
  const idempotency = idempotencyKey === undefined ? undefined : { key: idempotencyKey, request: { operation: 'POST /products/{id}/stock-adjustments', product_id: productId, ...request } }
  return adjust(userId, [{ ...request, product_id: productId }], ([movement]) => ({ status: 201, body: movement }), refusal, idempotency)
}

/** Many adjustments, all or nothing (201 with their movements, in the items' order). */
export function adjustStockInBulk(userId: number, request: BulkAdjustmentRequest, idempotencyKey?: string) {
  const idempotency = idempotencyKey === undefined ? undefined : { key: idempotencyKey, request: { operation: 'POST /stock-adjustments', ...request } }
  const refused = (failure: AdjustmentFailure) => atItem(failure.position, refusal(failure))
  return adjust(userId, request.items, (movements) => ({ status: 201, body: { items: movements } }), refused, idempotency)
}
