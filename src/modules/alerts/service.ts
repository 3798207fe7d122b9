import type { z } from 'zod'
import { preparedQuery } from '../../db/prepared'
import { fetchPage, listScope, pageRequest, type Page, type PageQuery, type PagedRow } from '../../http/pagination'
import type { alertSchema } from './schemas'
import { ALERT_LIST } from './sql'

export type PublicAlert = z.output<typeof alertSchema>

type AlertRow = Omit<PublicAlert, 'created_at'> & { created_at: Date } & PagedRow

/** Newest first, hand-written SQL (sql.ts). */
export async function listAlerts(query: PageQuery): Promise<Page<PublicAlert>> {
  const request = pageRequest(query, listScope('alerts', {}))
  return fetchPage(preparedQuery<AlertRow>, ALERT_LIST, request, ({ page_total, cursor_key, cursor_id, ...row }) => ({
    ...row,
    created_at: row.created_at.toISOString(),
  }))
}
