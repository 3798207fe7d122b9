import { Elysia } from 'elysia'
import { authPlugin } from '../auth/plugin'
import { errorResponses, invalidPage } from '../../http/error-responses'
import { alertListQuery, alertPage } from './schemas'
import { listAlerts } from './service'

export const alertRoutes = new Elysia({ prefix: '/alerts', tags: ['Alerts'] })
  .use(authPlugin)
  .get('', ({ query }) => listAlerts(query.limit, query.offset), {
    role: ['manager', 'admin'],
    query: alertListQuery,
    response: { 200: alertPage, ...errorResponses(invalidPage()) },
    detail: {
      summary: 'List low-stock alerts',
      description:
        "Managers and admins. One alert each time an order or a stock update took a product from at or above its `low_stock_threshold` to below it; newest first, paginated. Alerts of deleted products are kept.",
    },
  })
