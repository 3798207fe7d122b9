import type { ListStatement } from '../../http/pagination'

/** By name, then id, through the (name, id) index; the columns under the entity's field names. */
export const CATEGORY_LIST: ListStatement = {
  from: 'categories c',
  conditions: [],
  params: [],
  select: 'c.id, c.name, c.description, c.created_at AS "createdAt", c.updated_at AS "updatedAt"',
  order: { key: { column: 'c.name', type: 'varchar' }, id: 'c.id', descending: false },
}
