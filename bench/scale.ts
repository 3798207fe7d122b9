/**
 * The scale section (`BENCH_ONLY=scale`): every list endpoint, each sort and filter, at 1,000 and
 * at 1,000,000 rows (products, orders, movements of one product, alerts), API and R side by side,
 * plus a cursor page 50,000 items deep and the two ways of searching. See bench/README.md.
 */
import type { Client } from 'pg'
import { listProductsQuery, productListStatement } from '../src/modules/products/sql'
import { pageQuery } from '../src/http/pagination'
import type { Service } from './lib/processes'
import { seedScale } from './lib/seed'
import { runWrk, type WrkResult } from './lib/wrk'
import { BROAD_TERMS, SELECTIVE_TERMS } from './workloads'
import { NOUNS } from './lib/seed'

/** A noun alone is in 1 product name in 25 (and its description): 40 matches at 1k, 40,000 at 1M, past the count limit. */
const WORD_TERMS = NOUNS.slice(0, 8)

/** BENCH_SCALE_SIZES (two sizes, e.g. `1000,60000`) makes a quick trial run of the section; BENCH_SCALE_LISTS (list keys, e.g. `products`) runs only those lists. */
export const SCALE_SIZES = (process.env.BENCH_SCALE_SIZES ?? '1000,1000000').split(',').map(Number)
const ONLY_LISTS = process.env.BENCH_SCALE_LISTS?.split(',')
export const SCALE_SECONDS = Number(process.env.BENCH_SCALE_SECONDS ?? 3)
/** Runs per row and server, alternating API and R: a row's figures are their medians (one 3-second run moved by ±30 %). */
export const SCALE_RUNS = Number(process.env.BENCH_SCALE_RUNS ?? 3)
const connections = 16
const DEEP = 50_000

interface ScaleList {
  key: string
  label: string
  /** Path and query, without cursor; `terms` replaces {q} at random per request. */
  path: string
  terms?: string[]
  as: 'customer' | 'admin'
  /** Also measured on a cursor page 50,000 items deep (at the large size). */
  deep?: boolean
}

const PRODUCT_SORTS = ['name', '-name', 'price', '-price', 'stock', '-stock', 'created_at', '-created_at']
export const SCALE_LISTS: ScaleList[] = [
  { key: 'products', label: 'GET /products', path: '/products?limit=20', as: 'customer', deep: true },
  ...PRODUCT_SORTS.map((sort): ScaleList => ({ key: `products sort=${sort}`, label: `GET /products sort=${sort}`, path: `/products?limit=20&sort=${sort}`, as: 'customer', deep: sort === '-price' })),
  { key: 'products category_id', label: 'GET /products category_id=7', path: '/products?limit=20&category_id=7', as: 'customer' },
  { key: 'products category_id -price', label: 'GET /products category_id=7 sort=-price', path: '/products?limit=20&category_id=7&sort=-price', as: 'customer' },
  // Half of the category's products: counted from its links' copy of the price.
  { key: 'products category_id min_price', label: 'GET /products category_id=7 min_price=500', path: '/products?limit=20&category_id=7&min_price=500', as: 'customer' },
  // A category with a stock flag: counted from its links' flags. Category 1 holds every low-stock product, category 7 none.
  { key: 'products category_id in_stock', label: 'GET /products category_id=7 in_stock=true', path: '/products?limit=20&category_id=7&in_stock=true', as: 'customer' },
  { key: 'products category_id low_stock', label: 'GET /products category_id=1 low_stock=true', path: '/products?limit=20&category_id=1&low_stock=true', as: 'customer' },
  { key: 'products category_id low_stock name', label: 'GET /products category_id=7 low_stock=true sort=name (none)', path: '/products?limit=20&category_id=7&low_stock=true&sort=name', as: 'customer' },
  { key: 'products in_stock', label: 'GET /products in_stock=true', path: '/products?limit=20&in_stock=true', as: 'customer' },
  { key: 'products low_stock', label: 'GET /products low_stock=true', path: '/products?limit=20&low_stock=true', as: 'customer' },
  // The low-stock products are all named "Oak …": far down the name order.
  { key: 'products low_stock name', label: 'GET /products low_stock=true sort=name', path: '/products?limit=20&low_stock=true&sort=name', as: 'customer' },
  { key: 'products q selective', label: 'GET /products q=<model code>', path: '/products?limit=20&q={q}', terms: SELECTIVE_TERMS, as: 'customer' },
  { key: 'products q broad', label: 'GET /products q=<material noun>', path: '/products?limit=20&q={q}', terms: BROAD_TERMS, as: 'customer' },
  { key: 'products q word', label: 'GET /products q=<noun>', path: '/products?limit=20&q={q}', terms: WORD_TERMS, as: 'customer' },
  { key: 'orders all', label: 'GET /orders (admin: all)', path: '/orders?limit=20', as: 'admin', deep: true },
  { key: 'orders own', label: "GET /orders (customer's own)", path: '/orders?limit=20', as: 'customer', deep: true },
  { key: 'movements', label: 'GET /products/1/stock-movements', path: '/products/1/stock-movements?limit=20', as: 'admin', deep: true },
  { key: 'alerts', label: 'GET /alerts', path: '/alerts?limit=20', as: 'admin', deep: true },
]

export interface ScaleRow {
  key: string
  label: string
  size: number
  page: 'first' | 'deep'
  api: WrkResult
  r: WrkResult
}

/**
 * Two-letter terms in no product (the seed's names are materials, nouns and hex codes): each
 * search for one reads every product, since the trigram indexes cannot narrow it down.
 */
const ABSENT_SHORT_TERMS = ['zq', 'qz', 'xq', 'qx', 'jq', 'qj', 'vq', 'qv']
const FLOOD_CONNECTIONS = 16

/** `GET /products` alone, then while FLOOD_CONNECTIONS search for ABSENT_SHORT_TERMS as fast as answered. */
export interface SearchFlood {
  size: number
  alone: WrkResult
  flooded: WrkResult
  /** The flood itself; its errors are the searches refused (429). */
  flood: WrkResult
}

export interface SearchTiming {
  size: number
  term: 'selective' | 'broad' | 'word'
  trigramMs: number
  fullTextMs: number
}

const luaList = (values: string[]) => `{${values.map((v) => JSON.stringify(v)).join(', ')}}`

/** The wrk path expression: fixed, or one of the terms at random. */
function pathExpression(list: ScaleList, cursor?: string): string {
  const withCursor = (path: string) => (cursor ? `${path}&cursor=${encodeURIComponent(cursor)}` : path)
  if (!list.terms) return JSON.stringify(withCursor(list.path))
  const paths = list.terms.map((term) => withCursor(list.path.replace('{q}', encodeURIComponent(term))))
  return `(function() local t = ${luaList(paths)}; return t[math.random(#t)] end)()`
}

/** Follows next_cursor with pages of 100 until `depth` items lie behind; returns the cursor there. */
async function cursorAt(api: Service, list: ScaleList, headers: Record<string, string>, depth: number): Promise<string> {
  let cursor: string | null = null
  for (let seen = 0; seen < depth; seen += 100) {
    const url = `${api.url}${list.path.replace('limit=20', 'limit=100')}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`
    const response = await fetch(url, { headers })
    const body = (await response.json()) as { next_cursor: string | null }
    if (response.status !== 200 || body.next_cursor === null) throw new Error(`${list.key}: no page ${depth} items deep (${response.status})`)
    cursor = body.next_cursor
  }
  return cursor!
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

/** Each figure the median of the runs; requests and errors their sums. */
const medianRun = (results: WrkResult[]): WrkResult => ({
  rps: median(results.map((r) => r.rps)),
  p50Ms: median(results.map((r) => r.p50Ms)),
  p99Ms: median(results.map((r) => r.p99Ms)),
  requests: results.reduce((sum, r) => sum + r.requests, 0),
  errors: results.reduce((sum, r) => sum + r.errors, 0),
})

async function measure(wrk: string, api: Service, ceiling: Service, list: ScaleList, headers: Record<string, string>, cursor?: string) {
  const request = { method: 'GET' as const, path: pathExpression(list, cursor), headers }
  await runWrk(wrk, api.url, request, connections, 1)
  await runWrk(wrk, ceiling.url, request, connections, 1)
  const results = { api: [] as WrkResult[], r: [] as WrkResult[] }
  for (let run = 0; run < SCALE_RUNS; run++) {
    // Each goes first in turn, so that neither always meets what the other left behind (a checkpoint, autovacuum).
    const order = run % 2 === 0 ? (['api', 'r'] as const) : (['r', 'api'] as const)
    for (const server of order) results[server].push(await runWrk(wrk, server === 'api' ? api.url : ceiling.url, request, connections, SCALE_SECONDS))
  }
  return { api: medianRun(results.api), r: medianRun(results.r) }
}

export async function measureSearchFlood(wrk: string, api: Service, headers: Record<string, string>, size: number): Promise<SearchFlood> {
  const list = { method: 'GET' as const, path: JSON.stringify('/products?limit=20'), headers }
  const alone = await runWrk(wrk, api.url, list, connections, 2 * SCALE_SECONDS)
  const stop = new AbortController()
  const paths = ABSENT_SHORT_TERMS.map((term) => `/products?limit=20&q=${term}`)
  const search = { method: 'GET' as const, path: `(function() local t = ${luaList(paths)}; return t[math.random(#t)] end)()`, headers }
  const flooding = runWrk(wrk, api.url, search, FLOOD_CONNECTIONS, 600, stop.signal)
  await Bun.sleep(1000) // the flood's searches are under way first
  const flooded = await runWrk(wrk, api.url, list, connections, 2 * SCALE_SECONDS)
  stop.abort()
  return { size, alone, flooded, flood: await flooding }
}

/**
 * The search as the endpoint runs it (ILIKE through the trigram indexes) against PostgreSQL
 * full-text search (a stored tsvector of name and description with a GIN index, made for the
 * measurement and dropped after, so no row's vector is computed at query time), the same page and
 * bounded count around each, median of 15 runs per term.
 */
async function compareSearch(db: Client, size: number): Promise<SearchTiming[]> {
  await db.query(`ALTER TABLE products ADD COLUMN bench_search tsvector GENERATED ALWAYS AS (to_tsvector('simple', name || ' ' || coalesce(description, ''))) STORED`)
  await db.query('CREATE INDEX bench_products_fts_idx ON products USING gin (bench_search) WHERE deleted_at IS NULL')
  await db.query('VACUUM ANALYZE products')
  const request = { limit: 20, offset: 0, scope: 'bench' }
  const time = async (sql: string, params: unknown[]) => {
    const runs: number[] = []
    for (let i = 0; i < 15; i++) {
      const started = performance.now()
      await db.query(sql, params)
      runs.push(performance.now() - started)
    }
    return median(runs)
  }
  const timings: SearchTiming[] = []
  for (const [term, words] of [['selective', SELECTIVE_TERMS], ['broad', BROAD_TERMS], ['word', WORD_TERMS]] as const) {
    const trigram: number[] = []
    const fullText: number[] = []
    for (const words_ of words.slice(0, 4)) {
      const ilike = listProductsQuery({ q: words_ }, request)
      trigram.push(await time(ilike.sql, ilike.params))
      const base = productListStatement({})
      // Its matches read once, as the endpoint's search reads them.
      const fullTextSearch = { ...base, conditions: [...base.conditions, `p.bench_search @@ plainto_tsquery('simple', $1)`], params: [words_], readMatchesOnce: true }
      const fts = pageQuery(fullTextSearch, request)
      fullText.push(await time(fts.sql, fts.params))
    }
    timings.push({ size, term, trigramMs: median(trigram), fullTextMs: median(fullText) })
  }
  await db.query('ALTER TABLE products DROP COLUMN bench_search')
  return timings
}

export async function runScale(
  wrk: string,
  db: Client,
  ids: { customerId: number; adminId: number },
  api: Service,
  ceiling: Service,
  auth: { customer: Record<string, string>; admin: Record<string, string> },
  progress: (line: string) => void,
): Promise<{ rows: ScaleRow[]; search: SearchTiming[]; floods: SearchFlood[] }> {
  const rows: ScaleRow[] = []
  const search: SearchTiming[] = []
  const floods: SearchFlood[] = []
  for (const size of SCALE_SIZES) {
    progress(`scale: seeding ${size.toLocaleString('en')} products, orders, movements and alerts`)
    await seedScale(db, size, ids)
    for (const list of SCALE_LISTS.filter((list) => !ONLY_LISTS || ONLY_LISTS.includes(list.key))) {
      // R serves the customer's own orders when told so; the API reads it from the credentials.
      const headers = list.as === 'customer' ? { ...auth.customer, 'X-Bench-As': 'customer' } : auth.admin
      progress(`scale ${size}: ${list.key}`)
      rows.push({ key: list.key, label: list.label, size, page: 'first', ...(await measure(wrk, api, ceiling, list, headers)) })
      // Deep pages at the large size only (a customer holds half the orders: 500,000 of 1,000,000).
      if (list.deep && size >= 10 * DEEP) {
        const cursor = await cursorAt(api, list, headers, DEEP)
        progress(`scale ${size}: ${list.key}, ${DEEP.toLocaleString('en')} deep`)
        rows.push({ key: list.key, label: list.label, size, page: 'deep', ...(await measure(wrk, api, ceiling, list, headers, cursor)) })
      }
    }
    progress(`scale ${size}: GET /products while ${FLOOD_CONNECTIONS} connections search for two letters found nowhere`)
    floods.push(await measureSearchFlood(wrk, api, { ...auth.customer }, size))
    search.push(...(await compareSearch(db, size)))
  }
  return { rows, search, floods }
}

export interface ScaleCheck {
  target: string
  met: boolean
  detail: string
}

const fmt = (value: number, digits = 2) => value.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits })

export function scaleChecks(rows: ScaleRow[]): ScaleCheck[] {
  const [small, large] = SCALE_SIZES as [number, number]
  const find = (key: string, size: number, page: ScaleRow['page'] = 'first') => rows.find((r) => r.key === key && r.size === size && r.page === page)
  const out: ScaleCheck[] = []
  for (const list of SCALE_LISTS) {
    const [a, b] = [find(list.key, small), find(list.key, large)]
    if (!a || !b) continue
    // The issue's bound for a search whose matches grow with the catalogue.
    const bound = list.key === 'products q broad' || list.key === 'products q word' ? 3 : 2
    const p50 = b.api.p50Ms / a.api.p50Ms
    out.push({ target: `${list.label}: p50 at large ≤ ${bound} × at small`, met: p50 <= bound, detail: `${fmt(b.api.p50Ms)} vs ${fmt(a.api.p50Ms)} ms = ${fmt(p50)}×` })
    const p99 = b.api.p99Ms / a.api.p99Ms
    out.push({ target: `${list.label}: p99 at large ≤ 3 × at small @${connections}`, met: p99 <= 3, detail: `${fmt(b.api.p99Ms)} vs ${fmt(a.api.p99Ms)} ms = ${fmt(p99)}×` })
    const vsR = b.api.rps / b.r.rps
    out.push({ target: `${list.label}: at large ≥ 0.75 × R`, met: vsR >= 0.75, detail: `${fmt(vsR)} × R` })
    const deep = find(list.key, large, 'deep')
    if (deep) {
      const ratio = deep.api.p50Ms / b.api.p50Ms
      out.push({ target: `${list.label}: cursor page ${DEEP.toLocaleString('en')} deep p50 ≤ 1.5 × first page`, met: ratio <= 1.5, detail: `${fmt(deep.api.p50Ms)} vs ${fmt(b.api.p50Ms)} ms = ${fmt(ratio)}×` })
    }
  }
  const errors = rows.reduce((sum, row) => sum + row.api.errors, 0)
  out.push({ target: 'scale: no API errors', met: errors === 0, detail: String(errors) })
  return out
}

export const searchFloodLine = (f: SearchFlood) =>
  `${f.size.toLocaleString('en').padStart(9)} products: alone ${fmt(f.alone.p50Ms)} / ${fmt(f.alone.p99Ms)} ms, ${fmt(f.alone.rps, 0)} req/s; ` +
  `during the flood ${fmt(f.flooded.p50Ms)} / ${fmt(f.flooded.p99Ms)} ms, ${fmt(f.flooded.rps, 0)} req/s, ${fmt(f.flooded.errors, 0)} errors (p50 ${fmt(f.flooded.p50Ms / f.alone.p50Ms)}×); ` +
  `the flood: ${fmt(f.flood.requests - f.flood.errors, 0)} searches answered, ${fmt(f.flood.errors, 0)} refused (429) or failed`

export function scaleTable(rows: ScaleRow[]): string {
  const [small, large] = SCALE_SIZES as [number, number]
  const header = ['list', 'page', 'p50 1k', 'p99 1k', 'p50 1M', 'p99 1M', 'p50 ×', 'p99 ×', 'API req/s 1M', 'R req/s 1M', 'API/R 1M', 'errors']
  const lines: string[][] = []
  for (const list of SCALE_LISTS) {
    for (const page of ['first', 'deep'] as const) {
      const b = rows.find((r) => r.key === list.key && r.size === large && r.page === page)
      const a = rows.find((r) => r.key === list.key && r.size === small && r.page === 'first')
      if (!b || !a) continue
      const first = page === 'first'
      lines.push([
        list.label,
        first ? 'first' : `${DEEP / 1000}k deep`,
        first ? fmt(a.api.p50Ms) : '',
        first ? fmt(a.api.p99Ms) : '',
        fmt(b.api.p50Ms),
        fmt(b.api.p99Ms),
        first ? fmt(b.api.p50Ms / a.api.p50Ms) : '',
        first ? fmt(b.api.p99Ms / a.api.p99Ms) : '',
        fmt(b.api.rps, 0),
        fmt(b.r.rps, 0),
        fmt(b.api.rps / b.r.rps),
        `${a.api.errors + b.api.errors}/${a.r.errors + b.r.errors}`,
      ])
    }
  }
  const widths = header.map((title, i) => Math.max(title.length, ...lines.map((line) => line[i]!.length)))
  const render = (cells: string[]) => `| ${cells.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join(' | ')} |`
  return [render(header), `|${widths.map((w, i) => (i < 2 ? ':' : '-') + '-'.repeat(w) + (i < 2 ? '-' : ':')).join('|')}|`, ...lines.map(render)].join('\n')
}
