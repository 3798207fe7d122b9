import { randomBytes } from 'node:crypto'
import { dataSource } from '../../db/data-source'
import { conflict, invalidInput, notFound } from '../../http/errors'
import { fetchPage, listScope, pageRequest, type Page, type PageQuery, type PagedRow } from '../../http/pagination'
import type { CreatedWebhook, CreateWebhook, PublicDelivery, PublicWebhook } from './schemas'
import { deliveryList, QUEUE_PURGE, RESEND_FAILED, WEBHOOK_LIST } from './sql'
import { refusalOf } from './url-safety'
import { WebhookEndpoint } from './webhook-endpoint.entity'

const endpoints = () => dataSource.getRepository(WebhookEndpoint)
type WebhookFields = Pick<WebhookEndpoint, 'id' | 'url' | 'events' | 'description' | 'createdAt'>

/** An endpoint as the API shows it (never its secret), from its entity or a list row (which selects the entity's field names). */
const toPublicWebhook = (endpoint: WebhookFields): PublicWebhook => ({
  id: endpoint.id,
  url: endpoint.url,
  events: endpoint.events,
  description: endpoint.description,
  created_at: endpoint.createdAt.toISOString(),
})

type DeliveryRow = Omit<PublicDelivery, 'id' | 'next_attempt_at' | 'delivered_at' | 'created_at'> & {
  id: string
  next_attempt_at: Date | null
  delivered_at: Date | null
  created_at: Date
}

const toPublicDelivery = (row: DeliveryRow): PublicDelivery => ({
  ...row,
  id: Number(row.id),
  next_attempt_at: row.next_attempt_at?.toISOString() ?? null,
  delivered_at: row.delivered_at?.toISOString() ?? null,
  created_at: row.created_at.toISOString(),
})

/** The Standard Webhooks secret format: `whsec_` and the base64 of the key's bytes. */
const newSigningSecret = () => `whsec_${randomBytes(32).toString('base64')}`

export async function registerWebhook(request: CreateWebhook): Promise<CreatedWebhook> {
  const refusal = await refusalOf(request.url)
  if (refusal) throw invalidInput(refusal)
  const endpoint = await endpoints().save(
    endpoints().create({ url: request.url, events: request.events, description: request.description ?? null, secret: newSigningSecret() }),
  )
  return { ...toPublicWebhook(endpoint), secret: endpoint.secret }
}

const run = <Row>(sql: string, params: unknown[]): Promise<Row[]> => dataSource.query(sql, params)

export async function listWebhooks(query: PageQuery): Promise<Page<PublicWebhook>> {
  const request = pageRequest(query, listScope('webhooks', {}))
  return fetchPage(run<WebhookFields & PagedRow>, WEBHOOK_LIST, request, toPublicWebhook)
}

export async function getWebhook(id: number): Promise<PublicWebhook> {
  const endpoint = await endpoints().findOneBy({ id })
  if (!endpoint) throw notFound('Webhook', id)
  return toPublicWebhook(endpoint)
}

/**
 * The endpoint row alone, at once, whatever its history; in the same transaction the purge job is
 * queued, which deletes its deliveries in batches. From the commit on nothing reads or sends them
 * (jobs still queued for them find nothing to send).
 */
export async function deleteWebhook(id: number): Promise<void> {
  await dataSource.transaction(async (manager) => {
    const { affected } = await manager.delete(WebhookEndpoint, { id })
    if (!affected) throw notFound('Webhook', id)
    await manager.query(QUEUE_PURGE)
  })
}

/** Newest first, on the (endpoint_id, id) index, with the shared bounded total and cursors. */
export async function listDeliveries(endpointId: number, query: PageQuery): Promise<Page<PublicDelivery>> {
  await getWebhook(endpointId)
  const request = pageRequest(query, listScope(`webhooks/${endpointId}/deliveries`, {}))
  return fetchPage(run<DeliveryRow & PagedRow>, deliveryList(endpointId), request, ({ page_total: _t, cursor_key: _k, cursor_id: _i, ...row }) =>
    toPublicDelivery(row),
  )
}

export const notResendable = () => conflict('Only a failed delivery can be re-sent; this one is pending or delivered.')

/** A failed delivery gets one more attempt, as soon as the relay queues it, with the same event id (webhook-id). */
export async function resendDelivery(endpointId: number, deliveryId: number): Promise<PublicDelivery> {
  const [resent]: DeliveryRow[] = await dataSource.query(RESEND_FAILED, [endpointId, deliveryId])
  if (resent) return toPublicDelivery(resent)
  await getWebhook(endpointId)
  const [exists] = await dataSource.query('SELECT 1 FROM webhook_deliveries WHERE id = $1 AND endpoint_id = $2', [deliveryId, endpointId])
  if (!exists) throw notFound('Delivery', deliveryId)
  throw notResendable()
}
