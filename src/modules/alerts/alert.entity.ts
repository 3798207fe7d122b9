import { Column, CreateDateColumn, Entity, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm'
import type { Order } from '../orders/order.entity'
import type { Product } from '../products/product.entity'

/** One row each time a product's stock crosses from at-or-above its threshold to below it. */
@Entity({ name: 'alerts' })
export class Alert {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id: number

  @Column({ name: 'product_id', type: 'integer' })
  productId: number

  @ManyToOne('Product', { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'product_id', foreignKeyConstraintName: 'alerts_product_id_fkey' })
  product: Product

  @Column({ type: 'integer' })
  stock: number

  @Column({ type: 'integer' })
  threshold: number

  @Column({ name: 'order_id', type: 'integer', nullable: true })
  orderId: number | null

  @ManyToOne('Order', { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'order_id', foreignKeyConstraintName: 'alerts_order_id_fkey' })
  order: Order | null

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date

  /** The transaction that wrote the row, set by the database: the webhook relay makes its events once that transaction has ended. */
  @Column({ name: 'event_xid', type: 'bigint', nullable: true, select: false, insert: false, update: false, default: () => 'pg_current_xact_id()::text::bigint' })
  eventXid: string | null
}
