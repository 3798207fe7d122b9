import type { EntityManager, FindOptionsWhere } from 'typeorm'
import { dataSource } from '../../db/data-source'
import { preparedQuery } from '../../db/prepared'
import type { Principal } from '../../http/auth'
import { notFound } from '../../http/errors'
import { fetchPage, listScope, pageRequest, type Page, type PageQuery, type PagedRow } from '../../http/pagination'
import { changeStock, logLowStock, recordStockChange } from '../products/stock'
import { claimIdempotencyKey, requestHash, storeIdempotentResponse, type StoredResponse } from './idempotency'
import { Order, type OrderStatus } from './order.entity'
import { orderListStatement, PLACE_ORDER, RETURNING_ORDER } from './sql'

export interface PublicOrder {
  id: number
  product_id: number
  user_id: number | null
  quantity: number
  status: OrderStatus
  created_at: string
  updated_at: string
}

type OrderFields = Pick<Order, 'id' | 'productId' | 'userId' | 'quantity' | 'status' | 'createdAt' | 'updatedAt'>

const orders = () => dataSource.getRepository(Order)

const toPublicOrder = (order: OrderFields): PublicOrder => ({
  id: order.id,
  product_id: order.productId,
  user_id: order.userId,
  quantity: order.quantity,
  status: order.status,
  created_at: order.createdAt.toISOString(),
  updated_at: order.updatedAt.toISOString(),
})

/** Customers see only their own orders; managers and admins see all. */
const visibleTo = (user: Principal): FindOptionsWhere<Order> => (user.role === 'customer' ? { userId: user.id } : {})

/**
 * Takes the stock and records the order in one transaction: the conditional UPDATE in
 * changeStock serialises concurrent orders on the product row, so stock never oversells.
 * Hand-written SQL with RETURNING (no re-reads) keeps the round trips made under that row lock few.
 */
async function takeStockAndRecord(manager: EntityManager, userId: number, productId: number, quantity: number) {
  const change = await changeStock(manager, productId, -quantity)
  const [order]: [OrderFields] = await manager.query(
    `INSERT INTO orders (product_id, user_id, quantity, status) VALUES ($1, $2, $3, 'Pending') ${RETURNING_ORDER}`,
    [productId, userId, quantity],
  )
  const crossing = await recordStockChange(manager, change, { reason: 'order', userId, orderId: order.id })
  return { order: toPublicOrder(order), crossing }
}

export interface OrderOutcome extends StoredResponse {
  /** True when an earlier request with the same Idempotency-Key is being replayed. */
  replayed: boolean
}

type PlacedRow = OrderFields & { stockAfter: number; threshold: number; alertId: number | null }

/**
 * Places an order. Without an idempotency key, PLACE_ORDER does it all in one statement; when that
 * takes nothing (too little stock, or no such product), the transaction below answers: it reads
 * the row FOR UPDATE (changeStock), so the "Insufficient stock" numbers are the real ones, and if
 * stock arrived in the meantime it places the order after all.
 *
 * With an idempotency key, the key is claimed and the outcome stored in the same transaction as
 * the order, so a retry after any failure either replays the committed order or runs afresh:
 * never two orders for one key.
 */
export async function placeOrder(
  userId: number,
  request: { product_id: number; quantity: number },
  idempotencyKey?: string,
): Promise<OrderOutcome> {
  if (idempotencyKey === undefined) {
    const [placed] = await preparedQuery<PlacedRow>(PLACE_ORDER, [request.product_id, request.quantity, userId])
    if (placed) {
      if (placed.alertId !== null) {
        logLowStock({ alertId: placed.alertId, productId: request.product_id, stock: placed.stockAfter, threshold: placed.threshold })
      }
      return { status: 201, body: toPublicOrder(placed), replayed: false }
    }
  }
  const hash = idempotencyKey === undefined ? '' : requestHash(request)
  const outcome = await dataSource.transaction(async (manager) => {
    if (idempotencyKey !== undefined) {
      const stored = await claimIdempotencyKey(manager, userId, idempotencyKey, hash)
      if (stored) return { response: stored, replayed: true }
    }
    const { order, crossing } = await takeStockAndRecord(manager, userId, request.product_id, request.quantity)
    const response = { status: 201, body: order }
    if (idempotencyKey !== undefined) await storeIdempotentResponse(manager, userId, idempotencyKey, hash, response)
    return { response, replayed: false, crossing }
  })
  if (!outcome.replayed) logLowStock(outcome.crossing)
  return { ...outcome.response, replayed: outcome.replayed }
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
