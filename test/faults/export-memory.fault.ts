/**
 * GET /products/export streams: the resident memory of a real server process exporting 1,000,000
 * products grows by less than 50 MB over what it used before the export (the catalogue would be
 * hundreds of MB as one string), and every product arrives.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { ApiProcess, FaultDatabase } from './harness'

const PRODUCTS = 1_000_000
const ADMIN = `Basic ${Buffer.from('admin:fault-admin-password').toString('base64')}`

let db: FaultDatabase
let api: ApiProcess

beforeAll(async () => {
  db = await FaultDatabase.create('export-memory')
  api = await ApiProcess.start(db)
  await db.query(`INSERT INTO categories (name) VALUES ('Tools'), ('Garden')`)
  await db.query(
    `INSERT INTO products (sku, name, description, price, stock_quantity, low_stock_threshold)
     SELECT 'MEM-' || i, 'Product ' || i || ', "quoted"', 'A description of product ' || i || ' long enough to weigh something', (i % 10000) / 100.0, i % 100, 10
     FROM generate_series(1, $1::int) i`,
    [PRODUCTS],
  )
  await db.query(`INSERT INTO product_categories (product_id, category_id) SELECT id, 1 + id % 2 FROM products`)
}, 600_000)

afterAll(async () => {
  await api?.stop()
  await db?.destroy()
}, 60_000)

const residentMb = () => {
  const kib = Number(readFileSync(`/proc/${api.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)![1])
  return kib / 1024
}

test('exporting 1,000,000 products grows the server by less than 50 MB', async () => {
  const exportCsv = (search = '') => fetch(`${api.url}/products/export${search}`, { headers: { authorization: ADMIN } })
  // Warm-up: the route, the query's plan and the pool are in place before the baseline.
  const warm = await exportCsv('?sku=MEM-999999')
  expect(warm.status).toBe(200)
  expect((await warm.text()).split('\r\n').length).toBe(3)
  const baseline = residentMb()

  let peak = baseline
  const sampler = setInterval(() => (peak = Math.max(peak, residentMb())), 50)
  const response = await exportCsv()
  expect(response.status).toBe(200)
  let lines = 0
  let bytes = 0
  for await (const chunk of response.body!) {
    bytes += chunk.byteLength
    for (const byte of chunk) if (byte === 10) lines++
  }
  clearInterval(sampler)
  peak = Math.max(peak, residentMb())

  expect(lines).toBe(PRODUCTS + 1)
  console.log(`export: ${(bytes / 2 ** 20).toFixed(0)} MB of CSV; server RSS ${baseline.toFixed(0)} MB before, peak ${peak.toFixed(0)} MB`)
  expect(peak - baseline).toBeLessThan(50)
}, 600_000)
