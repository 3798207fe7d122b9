import { Check, Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm'
import type { EventType } from './webhook-endpoint.entity'

export const DELIVERY_STATUSES = ['pending', 'delivered', 'failed'] as const
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number]

/**
 * One event for one endpoint: written by the relay from a ledger row, with its job, once the row's
 * transaction has ended (or by the status trigger in the status change's transaction, then queued by
 * the relay: `queued`), then sent.
 */
@Entity({ name: 'webhook_deliveries' })
@Check('webhook_deliveries_status_check', `"status" IN ('pending', 'delivered', 'failed')`)
@Index('webhook_deliveries_endpoint_id_idx', ['endpointId', 'id'])
@Index('webhook_deliveries_unqueued_idx', ['id'], { where: '"queued" = false' })
export class WebhookDelivery {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string

  /**
   * No foreign key: deleting an endpoint leaves its deliveries to the purge job (purge.ts), which
   * deletes them in batches; until then nothing reads or sends them (every query joins the endpoint).
   */
  @Column({ name: 'endpoint_id', type: 'integer' })
  endpointId: number

  /** `evt_…`, the same for every endpoint and every attempt: it is the `webhook-id` header. */
  @Column({ name: 'event_id', type: 'varchar', length: 40 })
  eventId: string

  @Column({ name: 'event_type', type: 'varchar', length: 32 })
  eventType: EventType

  /** The body sent, `{id, type, timestamp, data}`; json (not jsonb) keeps its key order. */
  @Column({ type: 'json' })
  payload: unknown

  @Column({ type: 'varchar', length: 16, default: 'pending' })
  status: DeliveryStatus

  @Column({ type: 'integer', default: 0 })
  attempts: number

  @Column({ name: 'last_status_code', type: 'integer', nullable: true })
  lastStatusCode: number | null

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError: string | null

  @Column({ name: 'next_attempt_at', type: 'timestamptz', nullable: true, default: () => 'now()' })
  nextAttemptAt: Date | null

  /** Whether the relay has queued its job; false again when a failed delivery is re-sent. */
  @Column({ type: 'boolean', default: false })
  queued: boolean

  @Column({ name: 'delivered_at', type: 'timestamptz', nullable: true })
  deliveredAt: Date | null

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date
}
