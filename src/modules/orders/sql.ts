import type { ListStatement } from '../../http/pagination'

/**
 * The orders module's SQL, free of runtime imports (the ledger's crossing rule comes from the
 * products module's import-free sql.ts) so that the benchmark's R ceiling (bench/servers/) runs
 * exactly the SQL the endpoint runs.
 */
import type { z } from 'zod'
import { crossesLowStock } from '../products/sql'
import type { Order } from './order.entity'
import type { orderSchema } from './schemas'

export type PublicOrder = z.output<typeof orderSchema>

/** An order row as the hand-written statements return it (RETURNING_ORDER) and TypeORM loads it. */
export type OrderFields = Pick<Order, 'id' | 'productId' | 'userId' | 'quantity' | 'status' | 'createdAt' | 'updatedAt'>

export const toPublicOrder = (order: OrderFields): PublicOrder => ({
  id: order.id,
  product_id: order.productId,
  user_id: order.userId,
  quantity: order.quantity,
  status: order.status,
  created_at: order.createdAt.toISOString(),
  updated_at: order.updatedAt.toISOString(),
})


/** Hand-written statements return the entity's field names, so one mapping serves both paths. */
/** The order's columns under the entity's field names (unqualified: every statement reads orders alone). */
const ORDER_FIELDS = `id, product_id AS "productId", user_id AS "userId", quantity, status,
  created_at AS "createdAt", updated_at AS "updatedAt"`
export const RETURNING_ORDER = `RETURNING ${ORDER_FIELDS}`

/** Newest first: every order (primary key), or one customer's, through the (user_id, id) index. */
export const orderListStatement = (userId?: number): ListStatement => ({
  from: 'orders o',
  conditions: userId === undefined ? [] : ['o.user_id = $1'],
  params: userId === undefined ? [] : [userId],
  select: ORDER_FIELDS,
  order: { key: null, id: 'o.id', descending: true },
})

/**
 * The whole order in one statement, so one round trip: the conditional UPDATE takes the stock
 * (it locks the row and re-checks `stock_quantity >= quantity` on the latest version, so it cannot
 * oversell), and the order, its movement and a low-stock alert are inserted from its RETURNING, all
 * in the statement's own transaction. The row lock is held only while PostgreSQL runs the statement
 * and commits, never across a round trip to this process: that is what keeps a hot product fast.
 * It is the only way an order is placed (orders/service.ts runs it alone, or inside a transaction
 * when an Idempotency-Key or a refusal needs one). Parameters: (product_id, quantity, user_id).
 */
export const PLACE_ORDER = `
  WITH taken AS (
    UPDATE products SET stock_quantity = stock_quantity - $2, updated_at = now()
    WHERE id = $1 AND deleted_at IS NULL AND stock_quantity >= $2
    RETURNING id, stock_quantity, low_stock_threshold
  ), placed AS (
    INSERT INTO orders (product_id, user_id, quantity, status)
    SELECT id, $3, $2, 'Pending' FROM taken
    ${RETURNING_ORDER}
  ), moved AS (
    INSERT INTO stock_movements (product_id, delta, stock_after, reason, user_id, order_id)
    SELECT taken.id, -$2, taken.stock_quantity, 'order', $3, placed.id FROM taken, placed
  ), alerted AS (
    INSERT INTO alerts (product_id, stock, threshold, order_id)
    SELECT taken.id, taken.stock_quantity, taken.low_stock_threshold, placed.id FROM taken, placed
    WHERE ${crossesLowStock('taken.stock_quantity + $2', 'taken.stock_quantity', 'taken.low_stock_threshold')}
    RETURNING id
  )
  SELECT placed.*, taken.stock_quantity AS "stockAfter", taken.low_stock_threshold AS threshold,
    (SELECT id FROM alerted) AS "alertId"
  FROM placed, taken`
