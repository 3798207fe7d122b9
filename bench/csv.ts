/**
 * The CSV section of the benchmark: POST /products/import of 100,000 new rows and of 100,000
 * updates, and GET /products/export of 1,000,000 rows, each in rows/s beside PostgreSQL's own
 * COPY of the same rows into or out of the same tables (same indexes), in the same run. The CSV
 * files are written by the server (COPY … TO a file), so the API and COPY read the same bytes;
 * the database must be local to the bench (the embedded one, or a server on this machine).
 */
import { readFileSync, rmSync } from 'node:fs'
import type { Client } from 'pg'
import { exportProductsQuery } from '../src/modules/csv/sql'
import { seedProducts } from './lib/seed'

export const CSV_KEYS = ['csv-import-new', 'csv-import-update', 'csv-export'] as const
type CsvKey = (typeof CSV_KEYS)[number]

const IMPORT_ROWS = 100_000
const EXPORT_ROWS = 1_000_000
const IMPORT_COLUMNS = '(sku, name, description, price, stock_quantity, low_stock_threshold)'
const CSV_HEADER = 'sku,name,description,price,stock,low_stock_threshold'

export interface CsvRow {
  key: CsvKey
  label: string
  rows: number
  /** Median rows/s of the API and of the COPY ceiling, and every run behind each median. */
  api: number
  copy: number
  apiRuns: number[]
  copyRuns: number[]
  target: number
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

/** A CSV file of `IMPORT_ROWS` products, written by the server; `revision` changes every value an update can change. */
async function writeImportFile(db: Client, path: string, revision: number) {
  await db.query(
    `COPY (SELECT 'BENCH-' || i AS sku, 'Bench product ' || i || ' rev ' || ${revision} AS name,
             'A product, "quoted", for the CSV benchmark; row ' || i AS description,
             ((i * 7919 + ${revision}) % 100000) / 100.0 + 1 AS price, (i + ${revision}) % 500 AS stock, 10 AS low_stock_threshold
           FROM generate_series(1, ${IMPORT_ROWS}) i) TO '${path}' WITH (FORMAT csv, HEADER true)`,
  )
  // COPY names the header after the select list, which is the import's column list.
  if (!readFileSync(path, 'utf8').startsWith(CSV_HEADER)) throw new Error('unexpected CSV header')
}

async function timed(run: () => Promise<void>): Promise<number> {
  const started = performance.now()
  await run()
  return (performance.now() - started) / 1000
}

async function emptyCatalogue(db: Client) {
  await db.query('TRUNCATE alerts, stock_movements, orders, product_categories, products RESTART IDENTITY CASCADE')
}

export async function runCsvBench(options: {
  db: Client
  apiUrl: string
  /** Authorization header of a manager or admin. */
  auth: string
  keys: CsvKey[]
  rounds: number
  progress: (line: string) => void
}): Promise<CsvRow[]> {
  const { db, apiUrl, auth, keys, rounds, progress } = options
  const rows: CsvRow[] = []
  const dir = `/tmp/inventory-bench-csv-${process.pid}`
  const files = { created: `${dir}-new.csv`, revisionA: `${dir}-a.csv`, revisionB: `${dir}-b.csv`, exported: `${dir}-export.csv` }

  const importThroughApi = async (path: string, expected: 'created' | 'updated') => {
    const body = readFileSync(path)
    const response = await fetch(`${apiUrl}/products/import`, { method: 'POST', headers: { authorization: auth, 'content-type': 'text/csv' }, body })
    const result = (await response.json()) as Record<string, number>
    if (response.status !== 200 || result[expected] !== IMPORT_ROWS) throw new Error(`import answered ${response.status}: ${JSON.stringify(result)}`)
  }

  try {
    if (keys.includes('csv-import-new') || keys.includes('csv-import-update')) {
      await writeImportFile(db, files.created, 0)
      await writeImportFile(db, files.revisionA, 1)
      await writeImportFile(db, files.revisionB, 2)
      const created = { api: [] as number[], copy: [] as number[] }
      const updated = { api: [] as number[], copy: [] as number[] }
      for (let round = 0; round < rounds; round++) {
        progress(`csv import @round ${round + 1}/${rounds}`)
        await emptyCatalogue(db)
        created.api.push(IMPORT_ROWS / (await timed(() => importThroughApi(files.created, 'created'))))
        await emptyCatalogue(db)
        created.copy.push(IMPORT_ROWS / (await timed(async () => void (await db.query(`COPY products ${IMPORT_COLUMNS} FROM '${files.created}' WITH (FORMAT csv, HEADER true)`)))))
        await db.query('VACUUM ANALYZE products')
        // Updates: the API applies revision A over what is there, the ceiling revision B over that.
        updated.api.push(IMPORT_ROWS / (await timed(() => importThroughApi(files.revisionA, 'updated'))))
        updated.copy.push(
          IMPORT_ROWS /
            (await timed(async () => {
              await db.query('BEGIN')
              await db.query(`CREATE TEMP TABLE staged ${IMPORT_COLUMNS.replace(/(\w+)(?=[,)])/g, '$1 text')} ON COMMIT DROP`)
              await db.query(`COPY staged FROM '${files.revisionB}' WITH (FORMAT csv, HEADER true)`)
              await db.query(
                `UPDATE products p SET name = s.name, description = s.description, price = s.price::numeric, stock_quantity = s.stock_quantity::int,
                   low_stock_threshold = s.low_stock_threshold::int, updated_at = now()
                 FROM staged s WHERE lower(p.sku) = lower(s.sku) AND p.sku IS NOT NULL AND p.deleted_at IS NULL`,
              )
              await db.query('COMMIT')
            })),
        )
      }
      const row = (key: CsvKey, label: string, runs: { api: number[]; copy: number[] }, target: number): CsvRow => ({
        key,
        label,
        rows: IMPORT_ROWS,
        api: median(runs.api),
        copy: median(runs.copy),
        apiRuns: runs.api.map(Math.round),
        copyRuns: runs.copy.map(Math.round),
        target,
      })
      if (keys.includes('csv-import-new')) rows.push(row('csv-import-new', 'POST /products/import, 100,000 new rows vs COPY FROM', created, 0.2))
      if (keys.includes('csv-import-update')) {
        rows.push(row('csv-import-update', 'POST /products/import, 100,000 updates vs COPY FROM + UPDATE … FROM', updated, 0.2))
      }
    }

    if (keys.includes('csv-export')) {
      progress(`seeding ${EXPORT_ROWS.toLocaleString('en')} products for the export`)
      await seedProducts(db, EXPORT_ROWS)
      const { sql, params } = exportProductsQuery({})
      if (params.length > 0) throw new Error('the unfiltered export takes no parameters')
      const runs = { api: [] as number[], copy: [] as number[] }
      for (let round = 0; round < rounds; round++) {
        progress(`csv export @round ${round + 1}/${rounds}`)
        runs.api.push(
          EXPORT_ROWS /
            (await timed(async () => {
              const response = await fetch(`${apiUrl}/products/export`, { headers: { authorization: auth } })
              if (response.status !== 200 || !response.body) throw new Error(`export answered ${response.status}`)
              let lines = 0
              for await (const chunk of response.body) for (const byte of chunk) if (byte === 10) lines++
              // Every record ends in CRLF; quoted descriptions hold no line breaks here.
              if (lines !== EXPORT_ROWS + 1) throw new Error(`export sent ${lines} lines`)
            })),
        )
        runs.copy.push(EXPORT_ROWS / (await timed(async () => void (await db.query(`COPY (${sql}) TO '${files.exported}' WITH (FORMAT csv, HEADER true)`)))))
      }
      rows.push({
        key: 'csv-export',
        label: 'GET /products/export, 1,000,000 rows vs COPY TO',
        rows: EXPORT_ROWS,
        api: median(runs.api),
        copy: median(runs.copy),
        apiRuns: runs.api.map(Math.round),
        copyRuns: runs.copy.map(Math.round),
        target: 0.5,
      })
    }
  } finally {
    for (const file of Object.values(files)) rmSync(file, { force: true })
  }
  return rows
}

const fmt = (value: number, digits = 0) => value.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits })

export function csvTable(rows: CsvRow[]): string {
  const lines = rows.map((row) => `| ${row.label} | ${fmt(row.api)} | ${fmt(row.copy)} | ${fmt(row.api / row.copy, 2)} | ≥ ${row.target} | ${row.api / row.copy >= row.target ? 'met' : 'NOT MET'} |`)
  return ['| CSV workload | API rows/s | COPY rows/s | API/COPY | target | |', '|:--|--:|--:|--:|--:|:--|', ...lines].join('\n')
}
