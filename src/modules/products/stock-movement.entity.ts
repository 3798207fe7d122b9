import { Check, Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm'
import type { Order } from '../orders/order.entity'
import type { User } from '../users/user.entity'
import type { Product } from './product.entity'

/** The reasons a manager gives for a stock adjustment (POST /products/{id}/stock-adjustments). */
export const ADJUSTMENT_REASONS = ['restock', 'return', 'damage', 'loss', 'count', 'correction'] as const
/** `adjustment` is a PUT of `stock`; `import` a CSV import. */
export const MOVEMENT_REASONS = ['initial', 'adjustment', 'order', 'import', ...ADJUSTMENT_REASONS] as const
export type MovementReason = (typeof MOVEMENT_REASONS)[number]

/** The stock ledger: a product's stock_quantity always equals the sum of its deltas. */
@Entity({ name: 'stock_movements' })
@Check('stock_movements_delta_check', '"delta" <> 0')
@Check('stock_movements_reason_check', `"reason" IN (${MOVEMENT_REASONS.map((reason) => `'${reason}'`).join(', ')})`)
@Index('stock_movements_product_id_idx', ['productId', 'id'])
export class StockMovement {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string

  @Column({ name: 'product_id', type: 'integer' })
  productId: number

  @ManyToOne('Product', { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'product_id', foreignKeyConstraintName: 'stock_movements_product_id_fkey' })
  product: Product

  @Column({ type: 'integer' })
  delta: number

  /** Stock right after this movement, for reading the ledger without summing it. */
  @Column({ name: 'stock_after', type: 'integer' })
  stockAfter: number

  @Column({ type: 'varchar', length: 16 })
  reason: MovementReason

  /** The adjustment's free-text note; null for none. */
  @Column({ type: 'varchar', length: 500, nullable: true })
  note: string | null

  @Column({ name: 'user_id', type: 'integer', nullable: true })
  userId: number | null

  @ManyToOne('User', { onDelete: 'SET NULL' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'stock_movements_user_id_fkey' })
  user: User | null

  @Column({ name: 'order_id', type: 'integer', nullable: true })
  orderId: number | null

  @ManyToOne('Order', { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'order_id', foreignKeyConstraintName: 'stock_movements_order_id_fkey' })
  order: Order | null

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date

  /** The transaction that wrote the row, set by the database: the webhook relay makes its events once that transaction has ended. */
  @Column({ name: 'event_xid', type: 'bigint', nullable: true, select: false, insert: false, update: false, default: () => 'pg_current_xact_id()::text::bigint' })
  eventXid: string | null
}
