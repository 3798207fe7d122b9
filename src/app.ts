import { cors } from '@elysiajs/cors'
import { Elysia } from 'elysia'
import { config } from './config'
import { errorHandler } from './http/error-handler'
import { jsonBody } from './http/json-body'
import { openApiDocument } from './http/openapi'
import { requestContext } from './http/request-context'
import { swaggerUi } from './http/swagger-ui'
import { alertRoutes } from './modules/alerts/routes'
import { authRoutes } from './modules/auth/routes'
import { categoryRoutes } from './modules/categories/routes'
import { healthRoutes } from './modules/health/routes'
import { recordRequest } from './modules/metrics/registry'
import { metricsRoutes } from './modules/metrics/routes'
import { orderRoutes } from './modules/orders/routes'
import { csvRoutes } from './modules/csv/routes'
import { productRoutes } from './modules/products/routes'
import { stockAdjustmentRoutes } from './modules/stock-adjustments/routes'
import { userRoutes } from './modules/users/routes'
import { webhookRoutes } from './modules/webhooks/routes'

export interface AppOptions {
  /** Origins allowed to call the API from a browser; none (CORS off) by default. */
  corsOrigins: string[]
  /** GET /metrics and the request counting (METRICS_ENABLED), behind METRICS_TOKEN when set. */
  metrics?: { enabled: boolean; token?: string }
}

const configuredMetrics = { enabled: config.METRICS_ENABLED, token: config.METRICS_TOKEN }

/** The whole HTTP surface, without listening: tests drive it through app.handle(). */
export function createApp(options: AppOptions = { corsOrigins: config.CORS_ORIGINS }) {
  const metrics = options.metrics ?? configuredMetrics
  return new Elysia()
    .use(errorHandler)
    // Every answered request counted by its route template (the matched route, never the raw path) when metrics are on.
    .use(requestContext(metrics.enabled ? recordRequest : undefined))
    .use(jsonBody)
    .use(
      options.corsOrigins.length
        ? cors({
            origin: options.corsOrigins,
            allowedHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'X-Request-Id'],
            exposeHeaders: ['X-Request-Id', 'Retry-After', 'WWW-Authenticate'],
            credentials: false,
            maxAge: 600,
          })
        : new Elysia({ name: 'cors-off' }),
    )
    .use(openApiDocument({ path: '/swagger', metricsToken: metrics.enabled && metrics.token !== undefined }))
    // The page, from local assets; the document comes from openApiDocument() above.
    .use(swaggerUi({ path: '/swagger', specPath: '/swagger/json', title: 'Inventory API' }))
    .use(metrics.enabled ? metricsRoutes(metrics.token) : new Elysia({ name: 'metrics-off' }))
    .use(healthRoutes)
    .use(authRoutes)
    .use(userRoutes)
    .use(categoryRoutes)
    .use(csvRoutes)
    .use(productRoutes)
    .use(orderRoutes)
    .use(stockAdjustmentRoutes)
    .use(alertRoutes)
    .use(webhookRoutes)
}
