import { preparedQuery } from '../../db/prepared'
import { fetchPage, listScope, pageRequest, type Page, type PageQuery } from '../../http/pagination'
import { ALERT_LIST, toPublicAlert, type AlertRow, type PublicAlert } from './sql'

export type { PublicAlert }

/** Newest first, hand-written SQL (sql.ts). */
export async function listAlerts(query: PageQuery): Promise<Page<PublicAlert>> {
  const request = pageRequest(query, listScope('alerts', {}))
  return fetchPage(preparedQuery<AlertRow>, ALERT_LIST, request, toPublicAlert)
}
