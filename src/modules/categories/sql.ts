import type { ListStatement } from '../../http/pagination'

/** By name, then id, through the (name, id) index. */
export const CATEGORY_LIST: ListStatement = {
  from: 'categories c',
  conditions: [],
  params: [],
  select: 'c.id, c.name, c.description, c.created_at, c.updated_at',
  order: { key: { column: 'c.name', type: 'varchar' }, id: 'c.id', descending: false },
}
