import { z } from 'zod'
import { pagination, pageSchema } from '../../http/pagination'
import { fieldMessages, freeText, pathId, positiveIdMessage } from '../../http/validation'
import { DELIVERY_STATUSES } from './webhook-delivery.entity'
import { EVENT_TYPES } from './webhook-endpoint.entity'

const urlMessage = 'Webhook URL must be an absolute http or https URL of at most 2048 characters.'
const eventsMessage = fieldMessages('Webhook events')

export const createWebhookBody = z
  .object({
    url: z
      .url({ protocol: /^https?$/, error: urlMessage })
      .max(2048, { error: urlMessage })
      .meta({ description: 'Where events are POSTed. In production: https, and not a private address.', example: 'https://erp.example.com/hooks/inventory' }),
    events: z
      .array(z.enum(EVENT_TYPES, { error: eventsMessage }), { error: eventsMessage })
      .min(1, { error: eventsMessage })
      .max(EVENT_TYPES.length, { error: eventsMessage })
      .refine((events) => new Set(events).size === events.length, { error: 'Webhook events must not contain duplicates.' })
      .meta({ description: `The event types to receive: any of ${EVENT_TYPES.map((type) => `\`${type}\``).join(', ')}.`, example: ['stock.low', 'order.created'] }),
    description: freeText('Webhook description', 500).nullable().optional().meta({ description: 'Up to 500 characters.', example: 'ERP reorder service' }),
  })
  .meta({ example: { url: 'https://erp.example.com/hooks/inventory', events: ['stock.low', 'order.created'], description: 'ERP reorder service' } })

const endpointFields = {
  id: z.int(),
  url: z.string(),
  events: z.array(z.enum(EVENT_TYPES)),
  description: z.string().nullable(),
  created_at: z.iso.datetime(),
}

const endpointExample = {
  id: 1,
  url: 'https://erp.example.com/hooks/inventory',
  events: ['stock.low', 'order.created'],
  description: 'ERP reorder service',
  created_at: '2026-01-31T12:00:00.000Z',
}

export const webhookSchema = z.object(endpointFields).meta({ description: 'A registered webhook endpoint (its secret is never shown again).', example: endpointExample })

export const createdWebhookSchema = z
  .object({
    ...endpointFields,
    secret: z.string().meta({ description: 'The signing secret, `whsec_` + base64 of 32 random bytes: shown only in this response.' }),
  })
  .meta({
    description: 'The new endpoint with its signing secret.',
    example: { ...endpointExample, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw1JvQ6N2x/4E=' },
  })

export const deliverySchema = z
  .object({
    id: z.int(),
    event_id: z.string().meta({ description: 'The event, `evt_…`; also the `webhook-id` header of every attempt.' }),
    event_type: z.enum(EVENT_TYPES),
    status: z.enum(DELIVERY_STATUSES).meta({ description: '`pending` until a 2xx arrives (`delivered`) or the retries run out (`failed`).' }),
    attempts: z.int(),
    last_status_code: z.int().nullable().meta({ description: "The last attempt's HTTP status; null when no answer came." }),
    last_error: z.string().nullable().meta({ description: 'Why the last attempt failed; null after a success.' }),
    next_attempt_at: z.iso.datetime().nullable(),
    delivered_at: z.iso.datetime().nullable(),
    created_at: z.iso.datetime(),
  })
  .meta({
    description: 'One event sent (or being sent) to one endpoint.',
    example: {
      id: 17,
      event_id: 'evt_6f1c0a8e2b7d4c1e9f3a5b7c9d1e3f50',
      event_type: 'stock.low',
      status: 'pending',
      attempts: 2,
      last_status_code: 503,
      last_error: 'The endpoint answered 503.',
      next_attempt_at: '2026-01-31T12:02:05.000Z',
      delivered_at: null,
      created_at: '2026-01-31T12:01:35.000Z',
    },
  })

export const webhookParams = pathId('Webhook ID')
export const webhookListQuery = z.object(pagination)
export const webhookPage = pageSchema(webhookSchema)
export const deliveryPage = pageSchema(deliverySchema)

const deliveryIdMessage = positiveIdMessage('Delivery ID')
export const deliveryParams = webhookParams.extend({
  delivery_id: z
    .string({ error: deliveryIdMessage })
    .regex(/^[1-9]\d{0,15}$/, { error: deliveryIdMessage })
    .transform(Number)
    .meta({ description: 'Delivery ID: a positive integer.', example: '1' }),
})

export type CreateWebhook = z.output<typeof createWebhookBody>
export type PublicWebhook = z.output<typeof webhookSchema>
export type CreatedWebhook = z.output<typeof createdWebhookSchema>
export type PublicDelivery = z.output<typeof deliverySchema>

const product = { id: 1, sku: 'DRILL-18V', name: 'Cordless drill' }

/** One example body of each event type, as the relay and the status trigger build them (shown in the Webhooks tag of the document). */
export const EVENT_EXAMPLES = {
  'stock.low': {
    id: 'evt_2b7d4c1e9f3a5b7c9d1e3f506f1c0a8e',
    type: 'stock.low',
    timestamp: '2026-01-31T12:00:00.000Z',
    data: { id: 3, product_id: 1, product_name: 'Cordless drill', stock: 9, threshold: 10, order_id: 42, created_at: '2026-01-31T12:00:00.000Z', product },
  },
  'stock.changed': {
    id: 'evt_9f3a5b7c9d1e3f506f1c0a8e2b7d4c1e',
    type: 'stock.changed',
    timestamp: '2026-01-31T12:00:00.000Z',
    data: { id: 41, product_id: 1, delta: -2, stock_after: 9, reason: 'order', note: null, user_id: 7, order_id: 42, created_at: '2026-01-31T12:00:00.000Z', product },
  },
  'order.created': {
    id: 'evt_6f1c0a8e2b7d4c1e9f3a5b7c9d1e3f50',
    type: 'order.created',
    timestamp: '2026-01-31T12:00:00.000Z',
    data: { id: 42, product_id: 1, user_id: 7, quantity: 2, status: 'Pending', created_at: '2026-01-31T12:00:00.000Z', updated_at: '2026-01-31T12:00:00.000Z', product },
  },
  'order.status_changed': {
    id: 'evt_c9d1e3f506f1c0a8e2b7d4c1e9f3a5b7',
    type: 'order.status_changed',
    timestamp: '2026-01-31T13:00:00.000Z',
    data: {
      id: 42, product_id: 1, user_id: 7, quantity: 2, status: 'Completed', previous_status: 'Pending',
      created_at: '2026-01-31T12:00:00.000Z', updated_at: '2026-01-31T13:00:00.000Z', product,
    },
  },
} as const

export const WEBHOOKS_TAG_DESCRIPTION = [
  'Admins register endpoints; every committed change then reaches them, from every path: `stock.changed` (any stock movement), `stock.low` (an alert was recorded), `order.created`, `order.status_changed`. Each event comes from a row written in the same transaction as its change (its stock movement or alert, or the delivery a status change writes), so a change that rolls back emits nothing and a committed one always emits; it is delivered at least once (retried with exponential backoff for up to 24 hours, then `failed`), and signed per Standard Webhooks: headers `webhook-id` (the event id, the same on every attempt), `webhook-timestamp` and `webhook-signature` (`v1,` + base64 HMAC-SHA256 of `id.timestamp.body` keyed with the secret). A 2xx within 10 s is a success; redirects are not followed.',
  ...Object.entries(EVENT_EXAMPLES).map(([type, body]) => `**${type}**\n\n\`\`\`json\n${JSON.stringify(body, null, 2)}\n\`\`\``),
].join('\n\n')
