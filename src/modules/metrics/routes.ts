import { timingSafeEqual } from 'node:crypto'
import { Elysia } from 'elysia'
import { z } from 'zod'
import { errorResponses } from '../../http/error-responses'
import { unauthorized } from '../../http/errors'
import { scrapeMetrics } from './cluster'
import { registry } from './registry'

const badToken = () => unauthorized('A valid metrics token is required: send Authorization: Bearer <METRICS_TOKEN>.')

const digest = (text: string) => new Bun.CryptoHasher('sha256').update(text).digest()

/** With a token, only the exact `Bearer <token>` header may scrape, compared in constant time (digests: equal lengths). */
function scrapeGuard(token: string | undefined) {
  const expected = token === undefined ? undefined : digest(`Bearer ${token}`)
  return (authorization: string | undefined) => {
    if (expected === undefined) return
    if (authorization === undefined || !timingSafeEqual(digest(authorization), expected)) throw badToken()
  }
}

const EXAMPLE = `# HELP http_requests_total HTTP requests answered, by method, route template and status.
# TYPE http_requests_total counter
http_requests_total{method="GET",route="/products/:id",status="200"} 1027
# HELP inventory_orders_refused_total Orders refused by the order rules, by reason.
# TYPE inventory_orders_refused_total counter
inventory_orders_refused_total{reason="insufficient_stock"} 3
# HELP inventory_db_pool_waiting_requests Requests waiting for a database connection.
# TYPE inventory_db_pool_waiting_requests gauge
inventory_db_pool_waiting_requests 0
`

/**
 * GET /metrics serves the registry (of the whole process group), behind `token` when one is given
 * (METRICS_TOKEN). Requests are counted by request-context's hook (app.ts hands it recordRequest).
 */
export const metricsRoutes = (token: string | undefined) => {
  const assertMayScrape = scrapeGuard(token)
  return new Elysia({ name: 'metrics', seed: token, tags: ['Operations'] })
    .get(
      '/metrics',
      async ({ headers, set }) => {
        assertMayScrape(headers.authorization)
        set.headers['content-type'] = registry.contentType
        return scrapeMetrics()
      },
      {
        response: {
          200: z.string().meta({ description: 'The metrics, in the Prometheus text exposition format.', example: EXAMPLE }),
          ...errorResponses(badToken()),
        },
        detail: {
          summary: 'Prometheus metrics',
          description:
            'The Prometheus text format (`text/plain; version=0.0.4`): request counts and durations by method, route template and status; orders placed and refused (by reason); low-stock alerts; webhook deliveries by outcome; the database pool (open, idle, in use, waiting); process metrics. With several workers (`WEB_CONCURRENCY`), the sums of the whole process group. When `METRICS_TOKEN` is set, `Authorization: Bearer <METRICS_TOKEN>` is required (401 otherwise); without it, no authentication.',
          // Like the health probes, public without a token.
          security: token === undefined ? [] : [{ metricsToken: [] }],
        },
      },
    )
}
