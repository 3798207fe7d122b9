import { Elysia } from 'elysia'
import { authPlugin } from '../auth/plugin'
import { errorResponses, invalidId, JSON_BODY_ERRORS } from '../../http/error-responses'
import { PAGE_ERRORS } from '../../http/pagination'
import { HttpError, invalidInput, notFound } from '../../http/errors'
import { IDEMPOTENCY_CONFLICTS, idempotencyKeyHeaders, reply } from '../idempotency/idempotency'
import { ordersPlaced, ordersRefused } from '../metrics/registry'
import { insufficientStock } from '../products/stock'
import {
  createOrderBody,
  invalidStatus,
  MAX_ORDER_QUANTITY,
  orderListQuery,
  orderPage,
  orderParams,
  orderSchema,
  updateStatusBody,
} from './schemas'
import { getOrder, listOrders, placeOrder, updateOrderStatus } from './service'
import type { PublicOrder } from './sql'

/** Counts an order the rules refused (insufficient_stock, product_not_found, conflict) and passes the error on. */
function countRefusal(error: unknown): never {
  if (error instanceof HttpError && error.status < 500) ordersRefused.inc({ reason: error.title.toLowerCase().replaceAll(' ', '_') })
  throw error
}

export const orderRoutes = new Elysia({ prefix: '/orders', tags: ['Orders'] })
  .use(authPlugin)
  .post(
    '',
    async ({ body, headers, user, set }) => {
      const outcome = await placeOrder(user.id, body, headers['idempotency-key']).catch(countRefusal)
      if (!outcome.replayed) ordersPlaced.inc()
      return reply<PublicOrder>(set, outcome)
    },
    {
      auth: true,
      body: createOrderBody,
      headers: idempotencyKeyHeaders,
      response: {
        201: orderSchema,
        ...errorResponses(
          invalidInput('Order product_id is required.'),
          invalidInput('Order quantity is required.'),
          insufficientStock('Product A', 5, 10),
          ...JSON_BODY_ERRORS,
          notFound('Product', 42),
          ...IDEMPOTENCY_CONFLICTS,
        ),
      },
      detail: {
        summary: 'Place an order',
        description: `Takes \`quantity\` units (1–${MAX_ORDER_QUANTITY}) of the product from stock atomically and creates a \`Pending\` order for the caller. Never oversells under concurrency: asking for more than is in stock is a 400 \`Insufficient stock\` and changes nothing. A missing or deleted product is a 404. Any other field (status, user_id, price…) is ignored. With an \`Idempotency-Key\` header (1–255 characters, per user, kept 24 hours) a repeat with the same body replays the first response (header \`Idempotent-Replayed: true\`) and creates nothing; the same key with another body, or while the first request is still running, is a 409.`,
      },
    },
  )
  .get('', ({ query, user }) => listOrders(user, query), {
    auth: true,
    query: orderListQuery,
    response: { 200: orderPage, ...errorResponses(...PAGE_ERRORS) },
    detail: {
      summary: 'List orders',
      description: 'Newest first, paginated. Customers see only their own orders; managers and admins see all.',
    },
  })
  .get('/:id', ({ params, user }) => getOrder(user, params.id), {
    auth: true,
    params: orderParams,
    response: { 200: orderSchema, ...errorResponses(invalidId('Order ID'), notFound('Order', 42)) },
    detail: {
      summary: 'Get an order',
      description: "Customers may read only their own orders (another customer's order reads as 404); managers and admins read any.",
    },
  })
  .put('/:id/status', ({ params, body }) => updateOrderStatus(params.id, body.status), {
    role: ['manager', 'admin'],
    params: orderParams,
    body: updateStatusBody,
    response: {
      200: orderSchema,
      ...errorResponses(invalidStatus(), invalidId('Order ID'), ...JSON_BODY_ERRORS, notFound('Order', 42)),
    },
    detail: {
      summary: 'Change an order status',
      description:
        "Managers and admins. `status` must be exactly `Pending` or `Completed` (anything else is a 400 `Invalid status`); either may follow the other. The stock is not affected: it was taken when the order was placed.",
    },
  })
