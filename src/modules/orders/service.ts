import type { EntityManager, FindOptionsWhere } from 'typeorm'
import type { z } from 'zod'
import { dataSource } from '../../db/data-source'
import { preparedQuery } from '../../db/prepared'
import type { Principal } from '../auth/service'
import { notFound } from '../../http/errors'
import { fetchPage, listScope, pageRequest, type Page, type PageQuery, type PagedRow } from '../../http/pagination'
import { explainRefusedChange, logLowStock } from '../products/stock'
import { runIdempotently, type Idempotent } from '../idempotency/idempotency'
import { Order, type OrderStatus } from './order.entity'
import type { createOrderBody } from './schemas'
import { orderListStatement, PLACE_ORDER, RETURNING_ORDER, toPublicOrder, type OrderFields, type PublicOrder } from './sql'


const orders = () => dataSource.getRepository(Order)

/** Customers see only their own orders; managers and admins see all. */
const visibleTo = (user: Principal): FindOptionsWhere<Order> => (user.role === 'customer' ? { userId: user.id } : {})

type PlacedRow = OrderFields & { stockAfter: number; threshold: number; alertId: number | null }

/**
 * PLACE_ORDER inside the caller's transaction. When it takes nothing (too little stock, or no such
 * product), the row is read under a lock so the error names the real numbers; if stock arrived in
 * the meantime, the retry holds that lock and places the order after all.
 */
async function placeInTransaction(manager: EntityManager, placement: unknown[], productId: number, quantity: number): Promise<PlacedRow> {
  for (;;) {
    const [placed]: PlacedRow[] = await manager.query(PLACE_ORDER, placement)
    if (placed) return placed
    await explainRefusedChange(manager, productId, -quantity)
  }
}

const logCrossing = (placed: PlacedRow) => {
  if (placed.alertId !== null) {
    logLowStock({ alertId: placed.alertId, productId: placed.productId, stock: placed.stockAfter, threshold: placed.threshold })
  }
}

/**
 * Places an order. Without an idempotency key, PLACE_ORDER does it all in one statement and one
 * round trip; only a refusal takes the transaction that explains it.
 *
 * With an idempotency key, the key is claimed and the outcome stored in the same transaction as
 * the order, so a retry after any failure either replays the committed order or runs afresh:
 * never two orders for one key.
 */
export async function placeOrder(
  userId: number,
  request: z.output<typeof createOrderBody>,
  idempotencyKey?: string,
): Promise<Idempotent<PlacedRow>> {
  const placement = [request.product_id, request.quantity, userId]
  const place = (manager: EntityManager) => placeInTransaction(manager, placement, request.product_id, request.quantity)
  if (idempotencyKey === undefined) {
    const [placed] = await preparedQuery<PlacedRow>(PLACE_ORDER, placement)
    const order = placed ?? (await dataSource.transaction(place))
    logCrossing(order)
    return { response: { status: 201, body: toPublicOrder(order) }, replayed: false }
  }
  const outcome = await runIdempotently({ userId, key: idempotencyKey, request }, async (manager) => {
    const placed = await place(manager)
    return { response: { status: 201, body: toPublicOrder(placed) }, result: placed }
  })
  if (outcome.result) logCrossing(outcome.result)
  return outcome
}

/** Newest first; a customer's list (and its cursors) is bound to the customer, through the (user_id, id) index. */
export async function listOrders(user: Principal, query: PageQuery): Promise<Page<PublicOrder>> {
  const own = user.role === 'customer'
  const request = pageRequest(query, listScope('orders', own ? { user_id: user.id } : {}))
  return fetchPage(preparedQuery<OrderFields & PagedRow>, orderListStatement(own ? user.id : undefined), request, toPublicOrder)
}

/** Another customer's order reads as absent: its existence is not revealed. */
export async function getOrder(user: Principal, id: number): Promise<PublicOrder> {
  const order = await orders().findOneBy({ ...visibleTo(user), id })
  if (!order) throw notFound('Order', id)
  return toPublicOrder(order)
}

/** Either status may follow the other; setting the current status again changes nothing, updated_at included. */
export async function updateOrderStatus(id: number, status: OrderStatus): Promise<PublicOrder> {
  // One statement: no read-modify-write window between two concurrent status changes.
  const [[order]]: [OrderFields[], number] = await dataSource.query(
    `UPDATE orders SET status = $2::varchar, updated_at = CASE WHEN status = $2::varchar THEN updated_at ELSE now() END
     WHERE id = $1 ${RETURNING_ORDER}`,
    [id, status],
  )
  if (!order) throw notFound('Order', id)
  return toPublicOrder(order)
}
