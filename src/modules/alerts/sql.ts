import type { ListStatement } from '../../http/pagination'

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
