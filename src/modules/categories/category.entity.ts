import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm'

@Entity({ name: 'categories' })
@Index('categories_name_lower_key', { synchronize: false })
export class Category {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id: number

  @Column({ type: 'varchar', length: 100 })
  name: string

  @Column({ type: 'text', nullable: true })
  description: string | null

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date

  /** The ETag's version: bumped by a trigger on every UPDATE (migrations/*-RowVersions.ts); bigint, so a string. */
  @Column({ type: 'bigint', default: 1 })
  version: string
}
