import {
  Check,
  Column,
  CreateDateColumn,
  DeleteDateColumn,
  Entity,
  Index,
  JoinTable,
  ManyToMany,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm'
import type { Category } from '../categories/category.entity'

@Entity({ name: 'products' })
@Check('products_stock_quantity_check', '"stock_quantity" >= 0')
@Check('products_price_check', '"price" >= 0')
@Check('products_low_stock_threshold_check', '"low_stock_threshold" >= 0')
// Partial and trigram indexes TypeORM cannot express: kept by hand in migrations/*-ProductSearchIndexes.ts.
@Index('products_name_trgm_idx', { synchronize: false })
@Index('products_description_trgm_idx', { synchronize: false })
@Index('products_price_idx', { synchronize: false })
@Index('products_name_idx', { synchronize: false })
@Index('products_created_at_idx', { synchronize: false })
// Unique on lower(sku) among live products: migrations/*-ProductSku.ts.
@Index('products_sku_lower_key', { synchronize: false })
export class Product {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id: number

  /** The optional stock-keeping unit, unique regardless of case. */
  @Column({ type: 'varchar', length: 64, nullable: true })
  sku: string | null

  @Column({ type: 'varchar', length: 200 })
  name: string

  @Column({ type: 'text', nullable: true })
  description: string | null

  /** numeric(12,2): exact cents; the driver hands it over as a string. */
  @Column({ type: 'numeric', precision: 12, scale: 2 })
  price: string

  @Column({ name: 'stock_quantity', type: 'integer' })
  stockQuantity: number

  @Column({ name: 'low_stock_threshold', type: 'integer' })
  lowStockThreshold: number

  @ManyToMany('Category', { onDelete: 'CASCADE' })
  @JoinTable({
    name: 'product_categories',
    joinColumn: { name: 'product_id', referencedColumnName: 'id', foreignKeyConstraintName: 'product_categories_product_id_fkey' },
    inverseJoinColumn: { name: 'category_id', referencedColumnName: 'id', foreignKeyConstraintName: 'product_categories_category_id_fkey' },
  })
  categories: Category[]

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date

  /** The ETag's version: bumped by a trigger on every UPDATE (migrations/*-RowVersions.ts); bigint, so a string. */
  @Column({ type: 'bigint', default: 1 })
  version: string

  /** Soft delete: past orders and movements keep pointing at the row. */
  @DeleteDateColumn({ name: 'deleted_at', type: 'timestamptz', nullable: true })
  deletedAt: Date | null
}
