import { Elysia } from 'elysia'
import { authPlugin } from '../../http/auth'
import { createOrderBody, MAX_ORDER_QUANTITY, orderListQuery, orderPage, orderParams, orderSchema, updateStatusBody } from './schemas'
import { getOrder, listOrders, placeOrder, updateOrderStatus } from './service'

export const orderRoutes = new Elysia({ prefix: '/orders', tags: ['Orders'] })
  .use(authPlugin)
  .post(
    '',
    async ({ body, user, set }) => {
      const order = await placeOrder(user.id, body.product_id, body.quantity)
      set.status = 201
      return order
    },
    {
      auth: true,
      body: createOrderBody,
      response: { 201: orderSchema },
      detail: {
        summary: 'Place an order',
        description: `Takes \`quantity\` units (1–${MAX_ORDER_QUANTITY}) of the product from stock atomically and creates a \`Pending\` order for the caller. Never oversells under concurrency: asking for more than is in stock is a 400 \`Insufficient stock\` and changes nothing. A missing or deleted product is a 404. Any other field (status, user_id, price…) is ignored.`,
      },
    },
  )
  .get('', ({ query, user }) => listOrders(user, query.limit, query.offset), {
    auth: true,
    query: orderListQuery,
    response: { 200: orderPage },
    detail: {
      summary: 'List orders',
      description: 'Newest first, paginated. Customers see only their own orders; managers and admins see all.',
    },
  })
  .get('/:id', ({ params, user }) => getOrder(user, params.id), {
    auth: true,
    params: orderParams,
    response: { 200: orderSchema },
    detail: {
      summary: 'Get an order',
      description: "Customers may read only their own orders (another customer's order reads as 404); managers and admins read any.",
    },
  })
  .put('/:id/status', ({ params, body }) => updateOrderStatus(params.id, body.status), {
    role: ['manager', 'admin'],
    params: orderParams,
    body: updateStatusBody,
    response: { 200: orderSchema },
    detail: {
      summary: 'Change an order status',
      description:
        "Managers and admins. `status` must be exactly `Pending` or `Completed` (anything else is a 400 `Invalid status`); either may follow the other. The stock is not affected: it was taken when the order was placed.",
    },
  })
