import type { WrkRequest } from './lib/wrk'
import { LARGE_STOCK, MATERIALS, modelCode, NOUNS } from './lib/seed'
import { listProductsQuery } from '../src/modules/products/sql'

export interface Dataset {
  key: 'main' | 'search-1k' | 'search-200k'
  products: number
}

/** Measured in this order: the search datasets replace the products of the main one. */
export const DATASETS: Dataset[] = [
  { key: 'main', products: 10_000 },
  { key: 'search-1k', products: 1_000 },
  { key: 'search-200k', products: 200_000 },
]

export interface Workload {
  key: string
  label: string
  dataset: Dataset['key']
  /** `admin`: a Bearer token of the seeded admin, for the routes customers may not use. */
  auth: 'bearer' | 'basic' | 'admin'
  request(dataset: Dataset, headers: Record<string, string>): WrkRequest
  /** One request whose response the H ceiling serves. */
  sample: { method: 'GET' | 'POST'; path: string; body?: unknown }
  /** A statement whose plan the bench prints (EXPLAIN ANALYZE), to show which indexes it uses. */
  explain?: { sql: string; params: unknown[] }
  /** Measured with one webhook endpoint subscribed to every event (a local receiver answering 200). */
  webhooks?: boolean
  /** Also measure a second API process started with METRICS_ENABLED=false, in the same rounds: the cost of metrics. */
  compareWithoutMetrics?: boolean
}

/** The product the hot-spot workload orders: every request locks this one row. */
export const HOT_PRODUCT_ID = 1
/** Two categories per product: a category holds about 1 product in 10. */
const LIST_QUERY = '/products?limit=50&category_id=7&sort=-price'
/**
 * Model codes of products 1..1000 (present at both sizes): each finds one product, so the work
 * should not grow with the catalogue. Material + noun pairs find 1 product in 500 (2 at 1,000
 * products, 400 at 200,000): the result, and the exact total, grow with the data.
 */
export const SELECTIVE_TERMS = Array.from({ length: 50 }, (_, i) => modelCode(1 + i * 20))
export const BROAD_TERMS = MATERIALS.slice(0, 8).map((material, i) => `${material} ${NOUNS[(i * 3) % NOUNS.length]}`)
const searchPath = (term: string) => `/products?q=${encodeURIComponent(term)}`
const luaList = (values: string[]) => `{${values.map((v) => JSON.stringify(v)).join(', ')}}`

const randomProductPath = (dataset: Dataset) => `"/products/" .. math.random(1, ${dataset.products})`
const orderBody = (productId: string) => `'{"product_id":' .. ${productId} .. ',"quantity":1}'`
const json = { 'Content-Type': 'application/json' }
/** Items taking 1 unit each from random products (some repeated); the stocks of 10⁹ never run out. */
const BULK_ITEMS = 100
const bulkBody = (dataset: Dataset) =>
  `(function() local t = {} for i = 1, ${BULK_ITEMS} do t[i] = '{"product_id":' .. math.random(1, ${dataset.products}) .. ',"delta":-1,"reason":"loss"}' end return '{"items":[' .. table.concat(t, ',') .. ']}' end)()`

const search = (key: string, dataset: Dataset['key'], label: string, terms: string[]): Workload => ({
  key,
  label,
  dataset,
  auth: 'bearer',
  request: (_, headers) => ({
    method: 'GET',
    path: `(function() local t = ${luaList(terms.map(searchPath))}; return t[math.random(#t)] end)()`,
    headers,
  }),
  sample: { method: 'GET', path: searchPath(terms[0]!) },
  // The plan that matters is the one at 200,000 products: an index search, not a scan.
  explain: dataset === 'search-200k' ? listProductsQuery({ q: terms[0]! }, { limit: 20, offset: 0, scope: 'explain' }) : undefined,
})

/** Orders of random products; with `webhooks`, while one endpoint receives every event they cause. */
const ordersSpread = (webhooks: boolean): Workload => ({
  key: webhooks ? 'orders-spread-webhooks' : 'orders-spread',
  label: webhooks ? 'POST /orders spread, webhooks on' : 'POST /orders spread (10k products)',
  dataset: 'main',
  auth: 'bearer',
  request: (dataset, headers) => ({
    method: 'POST',
    path: '"/orders"',
    body: orderBody(`math.random(1, ${dataset.products})`),
    headers: { ...headers, ...json },
  }),
  sample: { method: 'POST', path: '/orders', body: { product_id: 2, quantity: 1 } },
  webhooks,
})

export const WORKLOADS: Workload[] = [
  {
    key: 'product-bearer',
    label: 'GET /products/{id} Bearer',
    dataset: 'main',
    auth: 'bearer',
    request: (dataset, headers) => ({ method: 'GET', path: randomProductPath(dataset), headers }),
    sample: { method: 'GET', path: '/products/42' },
    compareWithoutMetrics: true,
  },
  {
    key: 'product-basic',
    label: 'GET /products/{id} Basic (warm)',
    dataset: 'main',
    auth: 'basic',
    request: (dataset, headers) => ({ method: 'GET', path: randomProductPath(dataset), headers }),
    sample: { method: 'GET', path: '/products/42' },
  },
  {
    key: 'list',
    label: 'GET /products?limit=50 category+sort',
    dataset: 'main',
    auth: 'bearer',
    request: (_, headers) => ({ method: 'GET', path: JSON.stringify(LIST_QUERY), headers }),
    sample: { method: 'GET', path: LIST_QUERY },
  },
  ordersSpread(false),
  ordersSpread(true),
  {
    key: 'orders-hot',
    label: `POST /orders hot product (stock ${LARGE_STOCK.toExponential()})`,
    dataset: 'main',
    auth: 'bearer',
    request: (_, headers) => ({ method: 'POST', path: '"/orders"', body: orderBody(String(HOT_PRODUCT_ID)), headers: { ...headers, ...json } }),
    sample: { method: 'POST', path: '/orders', body: { product_id: HOT_PRODUCT_ID, quantity: 1 } },
  },
  {
    key: 'adjust',
    label: 'POST /products/{id}/stock-adjustments',
    dataset: 'main',
    auth: 'admin',
    request: (dataset, headers) => ({
      method: 'POST',
      path: `"/products/" .. math.random(1, ${dataset.products}) .. "/stock-adjustments"`,
      body: `'{"delta":-1,"reason":"loss"}'`,
      headers: { ...headers, ...json },
    }),
    sample: { method: 'POST', path: '/products/2/stock-adjustments', body: { delta: -1, reason: 'loss' } },
  },
  {
    key: 'adjust-bulk',
    label: `POST /stock-adjustments (${BULK_ITEMS} items)`,
    dataset: 'main',
    auth: 'admin',
    request: (dataset, headers) => ({ method: 'POST', path: '"/stock-adjustments"', body: bulkBody(dataset), headers: { ...headers, ...json } }),
    sample: {
      method: 'POST',
      path: '/stock-adjustments',
      body: { items: Array.from({ length: BULK_ITEMS }, (_, i) => ({ product_id: 1 + i * 97, delta: -1, reason: 'loss' })) },
    },
  },
  search('search-1k', 'search-1k', 'GET /products?q=<model code> at 1k', SELECTIVE_TERMS),
  search('search-broad-1k', 'search-1k', 'GET /products?q=<material noun> at 1k', BROAD_TERMS),
  search('search-200k', 'search-200k', 'GET /products?q=<model code> at 200k', SELECTIVE_TERMS),
  search('search-broad-200k', 'search-200k', 'GET /products?q=<material noun> at 200k', BROAD_TERMS),
]
