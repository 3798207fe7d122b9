/**
 * The stock adjustment statement, free of runtime imports so that the benchmark's R ceiling
 * (bench/servers/) runs exactly the SQL the endpoints run.
 */
import { crossesLowStock, STOCK_MAX } from '../products/sql'

/** Why a batch was refused, for the first item (by position) that fails. */
export interface AdjustmentFailure {
  position: number
  failure: 'not_found' | 'stale' | 'below_zero' | 'above_max'
  /** The item's product id (null when it named a SKU). */
  product_id: number | null
  /** The product's stock before the batch. */
  stock: number | null
  expected_stock: number | null
  /** The delta judged: the sum of the product's deltas (below zero), or of its increases (above the maximum). */
  delta: number | null
}

export interface PlannedMovement {
  position: number
  id: number
  product_id: number
  delta: number
  stock_after: number
  reason: string
  note: string | null
}

/** An item of a batch as the statement takes it. */
export interface AdjustmentItem {
  product_id?: number
  sku?: string
  delta: number
  reason: string
  note?: string | null
  expected_stock?: number
}

/** ADJUST_STOCK's parameters: the items as parallel arrays, then the user. */
export const adjustmentParameters = (items: AdjustmentItem[], userId: number) => [
  items.map((item) => item.product_id ?? null),
  items.map((item) => item.sku ?? null),
  items.map((item) => item.delta),
  items.map((item) => item.reason),
  items.map((item) => item.note ?? null),
  items.map((item) => item.expected_stock ?? null),
  userId,
]

/** The movements of an applied batch, in the items' order, as the API shows them. */
export const toPublicMovements = (row: AdjustmentRow, userId: number) =>
  row.movements!.map(({ position, ...movement }) => ({ ...movement, user_id: userId, order_id: null, created_at: row.created_at.toISOString() }))

export interface AdjustmentRow {
  failure: AdjustmentFailure | null
  movements: PlannedMovement[] | null
  alerts: Array<{ id: number; product_id: number; stock: number; threshold: number }> | null
  created_at: Date
}

/**
 * A batch of stock adjustments (one item for POST /products/{id}/stock-adjustments), all or
 * nothing, in one statement and one round trip. Parameters: the items as parallel arrays
 * (product_id | null, sku | null, delta, reason, note, expected_stock | null), then user_id.
 *
 * - Items name a product by id or by SKU (through products_sku_lower_key).
 * - The products are locked in id order (FOR NO KEY UPDATE sorts before it locks), so concurrent
 *   batches never deadlock, and everything after the lock sees their current stock.
 * - A product named more than once is judged on its sum: `expected_stock` is compared with the
 *   stock before the batch; the sum must not take it below zero, nor its increases above STOCK_MAX.
 *   The first failing item (by position) is returned and nothing is written.
 * - Otherwise one ledger movement per item, a product's increases first (so its stock_after never
 *   dips below zero), one UPDATE per product, and an alert where the batch crosses the threshold.
 */
export const ADJUST_STOCK = `
  WITH item AS (
    SELECT * FROM unnest($1::int[], $2::text[], $3::int[], $4::text[], $5::text[], $6::int[])
      WITH ORDINALITY AS item(product_id, sku, delta, reason, note, expected_stock, position)
  ), target AS (
    SELECT item.*, COALESCE(item.product_id, (
      SELECT p.id FROM products p WHERE lower(p.sku) = lower(item.sku) AND p.sku IS NOT NULL AND p.deleted_at IS NULL
    )) AS product
    FROM item
  ), locked AS (
    SELECT p.id, p.sku, p.stock_quantity, p.low_stock_threshold FROM products p
    WHERE p.id IN (SELECT product FROM target) AND p.deleted_at IS NULL
    ORDER BY p.id FOR NO KEY UPDATE
  ), judged AS (
    SELECT t.*, l.id IS NOT NULL AS found, l.stock_quantity AS stock, l.low_stock_threshold AS threshold,
      sum(t.delta) OVER product AS total,
      sum(greatest(t.delta, 0)) OVER product AS increases,
      t.position = max(t.position) OVER product AS last_of_product,
      t.position = max(t.position) FILTER (WHERE t.delta > 0) OVER product AS last_increase
    FROM target t
    -- Rechecked on the locked row: a SKU changed meanwhile no longer names the product.
    LEFT JOIN locked l ON l.id = t.product AND (t.sku IS NULL OR lower(l.sku) = lower(t.sku))
    WINDOW product AS (PARTITION BY t.product)
  ), failure AS (
    SELECT position::int, failure, product_id, stock, expected_stock,
      (CASE failure WHEN 'below_zero' THEN total WHEN 'above_max' THEN increases END)::bigint AS delta
    FROM (
      SELECT judged.*, CASE
        WHEN NOT found THEN 'not_found'
        WHEN expected_stock <> stock THEN 'stale'
        WHEN last_of_product AND stock + total < 0 THEN 'below_zero'
        WHEN last_increase AND stock + increases > ${STOCK_MAX} THEN 'above_max'
      END AS failure
      FROM judged
    ) checked
    WHERE failure IS NOT NULL ORDER BY position LIMIT 1
  ), planned AS (
    SELECT nextval('stock_movements_id_seq') AS id, ordered.* FROM (
      SELECT position::int, product, delta, reason, note,
        stock + sum(delta) OVER (PARTITION BY product ORDER BY delta < 0, position ROWS UNBOUNDED PRECEDING) AS stock_after
      FROM judged WHERE NOT EXISTS (SELECT FROM failure)
      ORDER BY product, delta < 0, position
    ) ordered
  ), moved AS (
    INSERT INTO stock_movements (id, product_id, delta, stock_after, reason, note, user_id)
    SELECT id, product, delta, stock_after, reason, note, $7 FROM planned
  ), changed AS (
    UPDATE products p SET stock_quantity = p.stock_quantity + batch.total, updated_at = now()
    FROM (SELECT DISTINCT product, total, stock FROM judged) batch
    WHERE p.id = batch.product AND NOT EXISTS (SELECT FROM failure)
    RETURNING p.id, batch.stock AS before, p.stock_quantity, p.low_stock_threshold
  ), alerted AS (
    INSERT INTO alerts (product_id, stock, threshold)
    SELECT id, stock_quantity, low_stock_threshold FROM changed
    WHERE ${crossesLowStock('before', 'stock_quantity', 'low_stock_threshold')}
    RETURNING id, product_id, stock, threshold
  )
  SELECT (SELECT row_to_json(refused) FROM failure refused) AS failure,
    (SELECT json_agg(json_build_object('position', position, 'id', id, 'product_id', product, 'delta', delta,
       'stock_after', stock_after, 'reason', reason, 'note', note) ORDER BY position) FROM planned) AS movements,
    (SELECT json_agg(alert) FROM alerted alert) AS alerts,
    now() AS created_at`
