import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { Pool } from 'pg'
import { dataSource, driverPool } from '../../db/data-source'

/** This process's metrics; with several workers, /metrics merges every process's registry (cluster.ts). */
export const registry = new Registry()
collectDefaultMetrics({ register: registry })

/** The route label of a request no route matched: one series, whatever paths clients try. */
export const UNMATCHED_ROUTE = '(unmatched)'

const HTTP_LABELS = ['method', 'route', 'status'] as const

const httpDuration = new Histogram({
  name: 'http_request_duration_seconds',
  help: 'Time from receiving a request to finishing its response, by method, route template and status.',
  labelNames: HTTP_LABELS,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [registry],
})

/**
 * The request count is the histogram's own `_count`, read at scrape time: answering a request is one
 * observation, not two, which halves the metrics' cost on the hot path.
 */
new Counter({
  name: 'http_requests_total',
  help: 'HTTP requests answered, by method, route template and status.',
  labelNames: HTTP_LABELS,
  registers: [registry],
  async collect() {
    const { values } = await httpDuration.get()
    this.reset()
    for (const { metricName, labels, value } of values) if (metricName === 'http_request_duration_seconds_count') this.inc(labels, value)
  },
})

// The bound series of each label combination, kept: the hot path then skips prom-client's per-call label hashing.
const httpSeries = new Map<string, ReturnType<typeof httpDuration.labels>>()

/** Counts one answered request; `route` is the matched template (e.g. /products/:id), never the raw path. */
export function recordRequest(method: string, route: string | undefined, status: number, seconds: number) {
  const template = route || UNMATCHED_ROUTE
  const key = `${method} ${template} ${status}`
  let series = httpSeries.get(key)
  if (!series) {
    series = httpDuration.labels({ method, route: template, status })
    httpSeries.set(key, series)
  }
  series.observe(seconds)
}

export const ordersPlaced = new Counter({
  name: 'inventory_orders_placed_total',
  help: 'Orders placed (an idempotent replay is not counted again).',
  registers: [registry],
})

/** Reasons are the error titles of the order rules, as snake_case: insufficient_stock, product_not_found, conflict... */
export const ordersRefused = new Counter({
  name: 'inventory_orders_refused_total',
  help: 'Orders refused by the order rules, by reason.',
  labelNames: ['reason'],
  registers: [registry],
})
for (const reason of ['insufficient_stock', 'product_not_found', 'conflict']) ordersRefused.inc({ reason }, 0)

export const lowStockAlerts = new Counter({
  name: 'inventory_low_stock_alerts_total',
  help: 'Low-stock alerts recorded (stock crossing below its threshold).',
  registers: [registry],
})

/**
 * Webhook delivery attempts by outcome: `delivered` (a 2xx), `retry` (failed, another attempt is
 * scheduled), `failed` (given up). For the webhook sender to increment.
 */
export const webhookDeliveries = new Counter({
  name: 'inventory_webhook_deliveries_total',
  help: 'Webhook delivery attempts, by outcome (delivered, retry, failed).',
  labelNames: ['outcome'],
  registers: [registry],
})
for (const outcome of ['delivered', 'retry', 'failed']) webhookDeliveries.inc({ outcome }, 0)

/** The pg pool TypeORM opened, once the database is connected. */
const pool = (): Pool | undefined => (dataSource.isInitialized ? driverPool() : undefined)

/** A gauge read from the pool at scrape time. */
const poolGauge = (name: string, help: string, read: (pool: Pool) => number) =>
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      const current = pool()
      if (current) this.set(read(current))
    },
  })

poolGauge('inventory_db_pool_connections', 'Open connections of the database pool.', (p) => p.totalCount)
poolGauge('inventory_db_pool_idle_connections', 'Open connections of the database pool not lent to a request.', (p) => p.idleCount)
poolGauge('inventory_db_pool_in_use_connections', 'Connections of the database pool lent to a request.', (p) => p.totalCount - p.idleCount)
poolGauge('inventory_db_pool_waiting_requests', 'Requests waiting for a database connection.', (p) => p.waitingCount)
