import type { z } from 'zod'
import type { ListStatement, PagedRow } from '../../http/pagination'
import type { alertSchema } from './schemas'

export type PublicAlert = z.output<typeof alertSchema>
export type AlertRow = Omit<PublicAlert, 'created_at'> & { created_at: Date } & PagedRow

export const toPublicAlert = (row: AlertRow): PublicAlert => ({
  id: row.id,
  product_id: row.product_id,
  product_name: row.product_name,
  stock: row.stock,
  threshold: row.threshold,
  order_id: row.order_id,
  created_at: row.created_at.toISOString(),
})

/**
 * Newest first. The join keeps alerts of soft-deleted products, with their names; the count needs
 * no join (the foreign key guarantees the product).
 */
export const ALERT_LIST: ListStatement = {
  from: 'alerts a',
  conditions: [],
  params: [],
  select: 'a.id, a.product_id, p.name AS product_name, a.stock, a.threshold, a.order_id, a.created_at',
  joins: 'JOIN products p ON p.id = a.product_id',
  order: { key: null, id: 'a.id', descending: true },
}
