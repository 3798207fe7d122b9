import { Elysia } from 'elysia'
import { authPlugin } from '../auth/plugin'
import { errorResponses, invalidId, JSON_BODY_ERRORS } from '../../http/error-responses'
import { PAGE_ERRORS } from '../../http/pagination'
import { invalidInput, notFound } from '../../http/errors'
import { noContent, positiveIdMessage } from '../../http/validation'
import {
  createdWebhookSchema,
  createWebhookBody,
  deliveryPage,
  deliveryParams,
  deliverySchema,
  webhookListQuery,
  webhookPage,
  webhookParams,
  webhookSchema,
} from './schemas'
import { deleteWebhook, getWebhook, listDeliveries, listWebhooks, notResendable, registerWebhook, resendDelivery } from './service'
import { HTTPS_REQUIRED, PRIVATE_ADDRESS } from './url-safety'

export const webhookRoutes = new Elysia({ prefix: '/webhooks', tags: ['Webhooks'] })
  .use(authPlugin)
  .post(
    '',
    async ({ body, set }) => {
      set.status = 201
      return registerWebhook(body)
    },
    {
      role: ['admin'],
      body: createWebhookBody,
      response: {
        201: createdWebhookSchema,
        ...errorResponses(
          invalidInput('Webhook URL must be an absolute http or https URL of at most 2048 characters.'),
          invalidInput('Webhook events is required.'),
          invalidInput(HTTPS_REQUIRED),
          invalidInput(PRIVATE_ADDRESS),
          ...JSON_BODY_ERRORS,
        ),
      },
      detail: {
        summary: 'Register a webhook endpoint',
        description:
          'Admins only. Events of the chosen types are POSTed to `url`, signed per Standard Webhooks with the returned `secret`, which is shown only in this response. In production the URL must be https and must not resolve to a loopback, private, link-local or metadata address (checked now and before every attempt), unless `WEBHOOK_ALLOW_PRIVATE=true`.',
      },
    },
  )
  .get('', ({ query }) => listWebhooks(query), {
    role: ['admin'],
    query: webhookListQuery,
    response: { 200: webhookPage, ...errorResponses(...PAGE_ERRORS) },
    detail: { summary: 'List webhook endpoints', description: 'Admins only. Oldest first, paginated; secrets are never shown.' },
  })
  .get('/:id', ({ params }) => getWebhook(params.id), {
    role: ['admin'],
    params: webhookParams,
    response: { 200: webhookSchema, ...errorResponses(invalidId('Webhook ID'), notFound('Webhook', 42)) },
    detail: { summary: 'Get a webhook endpoint', description: 'Admins only; 404 Webhook not found when absent.' },
  })
  .delete(
    '/:id',
    async ({ params, set }) => {
      await deleteWebhook(params.id)
      set.status = 204
    },
    {
      role: ['admin'],
      params: webhookParams,
      response: { 204: noContent, ...errorResponses(invalidId('Webhook ID'), notFound('Webhook', 42)) },
      detail: {
        summary: 'Delete a webhook endpoint',
        description:
          'Admins only. Answers 204 at once, whatever the number of its deliveries: nothing more is sent to it, and its deliveries are deleted in the background, a batch at a time.',
      },
    },
  )
  .get('/:id/deliveries', ({ params, query }) => listDeliveries(params.id, query), {
    role: ['admin'],
    params: webhookParams,
    query: webhookListQuery,
    response: { 200: deliveryPage, ...errorResponses(invalidId('Webhook ID'), ...PAGE_ERRORS, notFound('Webhook', 42)) },
    detail: {
      summary: "List an endpoint's deliveries",
      description:
        'Admins only. Newest first, paginated: each event sent to this endpoint, with its status (`pending`, `delivered`, `failed`), the attempts made, the last HTTP status and error, and when the next attempt is due. Delivered and failed deliveries are kept for `WEBHOOK_DELIVERY_RETENTION_DAYS` (30) days after the event, then deleted; pending ones are kept.',
    },
  })
  .post(
    '/:id/deliveries/:delivery_id/retry',
    async ({ params, set }) => {
      set.status = 202
      return resendDelivery(params.id, params.delivery_id)
    },
    {
      role: ['admin'],
      params: deliveryParams,
      response: {
        202: deliverySchema,
        ...errorResponses(
          invalidId('Webhook ID'),
          invalidInput(positiveIdMessage('Delivery ID')),
          notFound('Webhook', 42),
          notFound('Delivery', 42),
          notResendable(),
        ),
      },
      detail: {
        summary: 'Re-send a failed delivery',
        description:
          'Admins only. A `failed` delivery goes back to `pending` and is attempted once more at once, with the same event id (`webhook-id`); 202 with the delivery. A pending or delivered one is a 409.',
      },
    },
  )
