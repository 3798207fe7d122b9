import { dataSource } from '../../db/data-source'
import type { Page } from '../../http/validation'
import type { z } from 'zod'
import type { alertSchema } from './schemas'

export type PublicAlert = z.output<typeof alertSchema>

type AlertRow = Omit<PublicAlert, 'created_at'> & { created_at: Date }

/** Newest first. Hand-written SQL: the join must keep alerts of soft-deleted products, with their names. */
export async function listAlerts(limit: number, offset: number): Promise<Page<PublicAlert>> {
  const [rows, [count]]: [AlertRow[], [{ total: number }]] = await Promise.all([
    dataSource.query(
      `SELECT a.id, a.product_id, p.name AS product_name, a.stock, a.threshold, a.order_id, a.created_at
       FROM alerts a JOIN products p ON p.id = a.product_id
       ORDER BY a.id DESC LIMIT $1 OFFSET $2`,
      [limit, offset],
    ),
    dataSource.query('SELECT count(*)::int AS total FROM alerts'),
  ])
  const items = rows.map((row) => ({ ...row, created_at: row.created_at.toISOString() }))
  return { items, total: count.total, limit, offset }
}
