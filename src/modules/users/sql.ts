import type { ListStatement } from '../../http/pagination'

/** By id, through the primary key. */
export const USER_LIST: ListStatement = {
  from: 'users u',
  conditions: [],
  params: [],
  select: 'u.id, u.username, u.role, u.created_at',
  order: { key: null, id: 'u.id', descending: false },
}
