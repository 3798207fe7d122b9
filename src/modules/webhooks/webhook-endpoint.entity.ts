import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm'

export const EVENT_TYPES = ['stock.low', 'stock.changed', 'order.created', 'order.status_changed'] as const
export type EventType = (typeof EVENT_TYPES)[number]

/** A receiver registered by an admin; the relay (and the status trigger) fan each event out to the endpoints subscribed to its type. */
@Entity({ name: 'webhook_endpoints' })
export class WebhookEndpoint {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id: number

  @Column({ type: 'varchar', length: 2048 })
  url: string

  @Column({ type: 'varchar', length: 32, array: true })
  events: EventType[]

  @Column({ type: 'text', nullable: true })
  description: string | null

  /** `whsec_` + base64: the Standard Webhooks signing key, shown to the client once. */
  @Column({ type: 'text' })
  secret: string

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date
}
