/**
 * GET /metrics as Prometheus reads it: the text format, requests by route template (never the raw
 * path), orders placed and refused, alerts, the pool, and METRICS_TOKEN.
 */
import { beforeAll, describe, expect, test } from 'bun:test'
import { createApp } from '../../src/app'
import type { OpenApiDocument } from '../support/body'
import { call, resetDatabase, type Seeded } from '../support/helpers'

let users: Seeded

beforeAll(async () => {
  users = await resetDatabase()
})

/** The value of one series (`name` with exactly these labels), or undefined when it is absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels)
    .map(([key, value]) => `${key}="${value}"`)
    .sort()
    .join(',')
  for (const line of text.split('\n')) {
    const match = line.match(/^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/)
    if (!match || match[1] !== name) continue
    const found = (match[2] ?? '').split(/,(?=\w+=")/).filter(Boolean).sort().join(',')
    if (found === wanted) return Number(match[3])
  }
  return undefined
}

/** The series of `name` (its label sets as written). */
const seriesOf = (text: string, name: string) => text.split('\n').filter((line) => line.startsWith(`${name}{`))

async function scrape(): Promise<string> {
  const response = await call('GET', '/metrics')
  expect(response.status).toBe(200)
  return response.text
}

/** Request counting happens after the response is sent: poll until `check` holds on a scrape. */
async function eventually(check: (text: string) => boolean): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const text = await scrape()
    if (check(text)) return text
    await Bun.sleep(10)
  }
  return scrape()
}

describe('GET /metrics', () => {
  test('Prometheus text format with process and database pool metrics', async () => {
    const response = await call('GET', '/metrics')
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
    expect(response.text).toContain('# TYPE http_request_duration_seconds histogram')
    expect(sample(response.text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0)
    expect(sample(response.text, 'process_resident_memory_bytes')).toBeGreaterThan(0)
    const total = sample(response.text, 'inventory_db_pool_connections')!
    const idle = sample(response.text, 'inventory_db_pool_idle_connections')!
    expect(total).toBeGreaterThanOrEqual(1)
    expect(idle + sample(response.text, 'inventory_db_pool_in_use_connections')!).toBe(total)
    expect(sample(response.text, 'inventory_db_pool_waiting_requests')).toBe(0)
    for (const outcome of ['delivered', 'retry', 'failed']) expect(sample(response.text, 'inventory_webhook_deliveries_total', { outcome })).toBeNumber()
  })

  test('requests are counted by method, route template and status; unknown paths share one series', async () => {
    const before = await scrape()
    const label = { method: 'GET', route: '/products/:id', status: '404' }
    const count = sample(before, 'http_requests_total', label) ?? 0
    const unmatched = { method: 'GET', route: '(unmatched)', status: '404' }
    const unmatchedCount = sample(before, 'http_requests_total', unmatched) ?? 0
    for (const id of [987_001, 987_002, 987_003]) expect((await call('GET', `/products/${id}`, { as: users.customer })).status).toBe(404)
    for (let i = 0; i < 20; i++) expect((await call('GET', `/no-such-route-${i}/${crypto.randomUUID()}`)).status).toBe(404)

    const after = await eventually((text) => sample(text, 'http_requests_total', unmatched) === unmatchedCount + 20)
    expect(sample(after, 'http_requests_total', label)).toBe(count + 3)
    expect(sample(after, 'http_request_duration_seconds_count', label)).toBe(count + 3)
    expect(sample(after, 'http_request_duration_seconds_bucket', { ...label, le: '+Inf' })).toBe(count + 3)
    expect(sample(after, 'http_requests_total', unmatched)).toBe(unmatchedCount + 20)
    // Never a raw path: no id, no random segment, in any label.
    expect(after).not.toContain('987001')
    expect(after).not.toContain('no-such-route')
    expect(seriesOf(after, 'http_requests_total').every((line) => /route="(\/[\w/:*-]*|\(unmatched\))"/.test(line))).toBe(true)
  })

  test('orders placed and refused by reason; an idempotent replay is not counted twice', async () => {
    const product = (await call('POST', '/products', { as: users.manager, body: { name: 'Metered Bolt', price: 2.5, stock: 3, low_stock_threshold: 2 } })).body
    const before = await scrape()
    const placed = sample(before, 'inventory_orders_placed_total')!
    const refused = (reason: string, text: string) => sample(text, 'inventory_orders_refused_total', { reason })!
    const alerts = sample(before, 'inventory_low_stock_alerts_total')!

    const order = { product_id: product.id, quantity: 1 }
    expect((await call('POST', '/orders', { as: users.customer, body: order })).status).toBe(201)
    // 3 → 2 → 1: the second order crosses below the threshold of 2 and records an alert.
    const keyed = { as: users.customer, body: order, headers: { 'idempotency-key': 'metrics-replay' } }
    expect((await call('POST', '/orders', keyed)).status).toBe(201)
    expect((await call('POST', '/orders', keyed)).headers.get('idempotent-replayed')).toBe('true')
    expect((await call('POST', '/orders', { as: users.customer, body: { product_id: product.id, quantity: 5 } })).status).toBe(400)
    expect((await call('POST', '/orders', { as: users.customer, body: { product_id: 987_654, quantity: 1 } })).status).toBe(404)
    expect((await call('POST', '/orders', { ...keyed, body: { product_id: product.id, quantity: 2 } })).status).toBe(409)

    const after = await scrape()
    expect(sample(after, 'inventory_orders_placed_total')).toBe(placed + 2)
    expect(refused('insufficient_stock', after)).toBe(refused('insufficient_stock', before) + 1)
    expect(refused('product_not_found', after)).toBe(refused('product_not_found', before) + 1)
    expect(refused('conflict', after)).toBe(refused('conflict', before) + 1)
    expect(sample(after, 'inventory_low_stock_alerts_total')).toBe(alerts + 1)
    expect((await call('GET', '/alerts', { as: users.manager })).body.items?.[0]).toMatchObject({ product_id: product.id, stock: 1 })
  })

  test('documented as text/plain, public when no METRICS_TOKEN is set', async () => {
    const document = (await call<OpenApiDocument>('GET', '/swagger/json')).body
    const operation = document.paths['/metrics'].get
    expect(Object.keys(operation.responses['200'].content)).toEqual(['text/plain'])
    expect(operation.security).toEqual([]) // public, as the document says explicitly
    expect(document.components.securitySchemes.metricsToken).toBeUndefined()
  })
})

describe('METRICS_TOKEN', () => {
  const token = 'metrics-token-for-the-tests-0123'
  const guarded = createApp({ corsOrigins: [], metrics: { enabled: true, token } })
  const scrapeWith = async (authorization?: string) => {
    const response = await guarded.handle(
      new Request('http://localhost/metrics', { headers: authorization === undefined ? {} : { authorization } }),
    )
    return { status: response.status, text: await response.text(), headers: response.headers }
  }
  const refusal = { error: 'Unauthorized', message: 'A valid metrics token is required: send Authorization: Bearer <METRICS_TOKEN>.' }

  test('the exact Bearer token scrapes; anything else is a 401 with the JSON body and the challenge', async () => {
    expect((await scrapeWith(`Bearer ${token}`)).status).toBe(200)
    const basic = `Basic ${Buffer.from(`${users.admin.username}:${users.admin.password}`).toString('base64')}`
    for (const authorization of [undefined, `Bearer ${token}x`, `Bearer ${token.slice(0, -1)}`, `bearer  ${token}`, token, basic]) {
      const refused = await scrapeWith(authorization)
      expect(refused.status, String(authorization)).toBe(401)
      expect(JSON.parse(refused.text)).toEqual(refusal)
      expect(refused.headers.get('www-authenticate')).toStartWith('Basic realm="inventory"')
    }
  })

  test('the document asks for the metrics token', async () => {
    const response = await guarded.handle(new Request('http://localhost/swagger/json'))
    const document = (await response.json()) as OpenApiDocument
    expect(document.paths['/metrics'].get.security).toEqual([{ metricsToken: [] }])
    expect(document.components.securitySchemes.metricsToken).toMatchObject({ type: 'http', scheme: 'bearer' })
  })

  test('METRICS_ENABLED=false: no /metrics route', async () => {
    const off = createApp({ corsOrigins: [], metrics: { enabled: false } })
    const response = await off.handle(new Request('http://localhost/metrics'))
    expect(response.status).toBe(404)
    expect(await response.json()).toEqual({ error: 'Not Found', message: 'No such route.' })
  })
})
