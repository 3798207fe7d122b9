import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm'
import type { User } from '../users/user.entity'

/** A stored outcome of a request made with an Idempotency-Key (POST /orders, stock adjustments), replayed for a repeat of the same key by the same user. */
@Entity({ name: 'idempotency_keys' })
@Index('idempotency_keys_created_at_idx', ['createdAt'])
export class IdempotencyKey {
  @PrimaryColumn({ name: 'user_id', type: 'integer' })
  userId: number

  @ManyToOne('User', { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'idempotency_keys_user_id_fkey' })
  user: User

  @PrimaryColumn({ type: 'varchar', length: 255 })
  key: string

  /** SHA-256 of the request body as validated: another body under the same key is a 409. */
  @Column({ name: 'request_hash', type: 'char', length: 64 })
  requestHash: string

  @Column({ name: 'status_code', type: 'smallint' })
  statusCode: number

  @Column({ name: 'response_body', type: 'jsonb' })
  responseBody: unknown

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date
}
