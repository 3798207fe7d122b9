import { preparedQuery } from '../../db/prepared'
import { ALERT_LIST } from './sql'
import { fetchPage, listScope, pageRequest, type Page, type PageQuery, type PagedRow } from '../../http/pagination'

export interface PublicAlert {
  id: number
  product_id: number
  product_name: string
  stock: number
  threshold: number
  order_id: number | null
  created_at: string
}

type AlertRow = Omit<PublicAlert, 'created_at'> & { created_at: Date } & PagedRow

/** Newest first, hand-written SQL (sql.ts). */
export async function listAlerts(query: PageQuery): Promise<Page<PublicAlert>> {
  const request = pageRequest(query, listScope('alerts', {}))
  return fetchPage(preparedQuery<AlertRow>, ALERT_LIST, request, ({ page_total, cursor_key, cursor_id, ...row }) => ({
    ...row,
    created_at: row.created_at.toISOString(),
  }))
}
