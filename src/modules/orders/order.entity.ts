import { Check, Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm'
import type { Product } from '../products/product.entity'
import type { User } from '../users/user.entity'

export const ORDER_STATUSES = ['Pending', 'Completed'] as const
export type OrderStatus = (typeof ORDER_STATUSES)[number]

@Entity({ name: 'orders' })
@Check('orders_quantity_check', '"quantity" > 0')
@Check('orders_status_check', `"status" IN ('Pending', 'Completed')`)
@Index('orders_user_id_idx', ['userId', 'id'])
export class Order {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id: number

  @Column({ name: 'product_id', type: 'integer' })
  productId: number

  @ManyToOne('Product', { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'product_id', foreignKeyConstraintName: 'orders_product_id_fkey' })
  product: Product

  /** Null once the ordering user has been deleted; the order itself is kept. */
  @Column({ name: 'user_id', type: 'integer', nullable: true })
  userId: number | null

  @ManyToOne('User', { onDelete: 'SET NULL' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'orders_user_id_fkey' })
  user: User | null

  @Column({ type: 'integer' })
  quantity: number

  @Column({ type: 'varchar', length: 16, default: 'Pending' })
  status: OrderStatus

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date
}
