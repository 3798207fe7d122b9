import { Check, Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm'

export const ROLES = ['admin', 'manager', 'customer'] as const
export type Role = (typeof ROLES)[number]

@Entity({ name: 'users' })
@Check('users_role_check', `"role" IN ('admin', 'manager', 'customer')`)
@Index('users_username_lower_key', { synchronize: false })
export class User {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id: number

  @Column({ type: 'varchar', length: 50 })
  username: string

  @Column({ name: 'password_hash', type: 'text', select: false })
  passwordHash: string

  @Column({ type: 'varchar', length: 16, default: 'customer' })
  role: Role

  /** Bumped on every password or role change: tokens carrying an older version are refused. */
  @Column({ name: 'token_version', type: 'integer', default: 0 })
  tokenVersion: number

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date
}
