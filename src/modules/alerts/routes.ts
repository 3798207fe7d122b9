import { Elysia } from 'elysia'
import { authPlugin } from '../auth/plugin'
import { errorResponses } from '../../http/error-responses'
import { PAGE_ERRORS } from '../../http/pagination'
import { alertListQuery, alertPage } from './schemas'
import { listAlerts } from './service'

export const alertRoutes = new Elysia({ prefix: '/alerts', tags: ['Alerts'] })
  .use(authPlugin)
  .get('', ({ query }) => listAlerts(query), {
    role: ['manager', 'admin'],
    query: alertListQuery,
    response: { 200: alertPage, ...errorResponses(...PAGE_ERRORS) },
    detail: {
      summary: 'List low-stock alerts',
      description:
        "Managers and admins. One alert each time an order or a stock update took a product from at or above its `low_stock_threshold` to below it; newest first, paginated. Alerts of deleted products are kept.",
    },
  })
