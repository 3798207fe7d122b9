/**
 * `bun run bench`: the API against its own ceilings, side by side, in one run. See bench/README.md.
 *
 * Environment: BENCH_SECONDS (per wrk run, default 5), BENCH_ROUNDS (default 3), BENCH_CONNECTIONS
 * (default "16,64"), BENCH_ONLY (comma-separated workload keys; `scale` for the scale section),
 * BENCH_SCALE_SECONDS (per run in the scale section, default 3), DATABASE_URL (a server on which the
 * bench creates and owns the database `inventory_bench`; default: an embedded PostgreSQL in a temp
 * dir), WEB_CONCURRENCY and DATABASE_POOL_SIZE (passed to the API; the R ceiling uses the same pool
 * size unless BENCH_R_POOL_SIZE says otherwise, e.g. to keep R fixed while the API's pool varies).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join, resolve } from 'node:path'
import { Client } from 'pg'
import { startEmbeddedPostgres } from '../src/db/embedded'
import { cpuSeconds, freePort, startService, watchMemory, type Service } from './lib/processes'
import { csvTable, CSV_KEYS, runCsvBench, type CsvRow } from './csv'
import { LOGIN_FLOOD_API_ENV, LOGIN_FLOOD_KEY, measureLoginFlood, type LoginFlood } from './login-flood'
import { BENCH_ADMIN, BENCH_USER, seedBase, seedProducts } from './lib/seed'
import { runScale, SCALE_RUNS, SCALE_SECONDS, scaleChecks, scaleTable, searchFloodLine, type ScaleRow, type SearchFlood, type SearchTiming } from './scale'
import { requireWrk, runWrk, type WrkResult } from './lib/wrk'
import { subscribeEverything, type DeliveryCapacity, type DeliveryRate } from './lib/webhooks'
import { DATASETS, WORKLOADS, type Dataset, type Workload } from './workloads'

const root = resolve(import.meta.dir, '..')
const seconds = Number(process.env.BENCH_SECONDS ?? 5)
const rounds = Number(process.env.BENCH_ROUNDS ?? 3)
const connectionCounts = (process.env.BENCH_CONNECTIONS ?? '16,64').split(',').map(Number)
const only = process.env.BENCH_ONLY?.split(',')
const workers = Number(process.env.WEB_CONCURRENCY ?? 1)
const poolSize = Number(process.env.DATABASE_POOL_SIZE ?? 10)
const ceilingPoolSize = Number(process.env.BENCH_R_POOL_SIZE ?? poolSize)
const started = performance.now()

const wrk = requireWrk()
const workloads = WORKLOADS.filter((w) => !only || only.includes(w.key))
const runsLoginFlood = !only || only.includes(LOGIN_FLOOD_KEY)
const withScale = !only || only.includes('scale')
const cleanups: Array<() => Promise<void>> = []
const progress = (line: string) => console.error(`[bench ${((performance.now() - started) / 1000).toFixed(0)}s] ${line}`)

async function openDatabase(): Promise<string> {
  if (process.env.DATABASE_URL) {
    // Never the configured database itself: the bench truncates everything it seeds.
    const admin = new Client({ connectionString: process.env.DATABASE_URL })
    await admin.connect()
    await admin.query('DROP DATABASE IF EXISTS inventory_bench WITH (FORCE)')
    await admin.query('CREATE DATABASE inventory_bench')
    await admin.end()
    const url = new URL(process.env.DATABASE_URL)
    url.pathname = '/inventory_bench'
    return url.toString()
  }
  const dir = mkdtempSync(join(tmpdir(), 'inventory-bench-pg-'))
  const embedded = await startEmbeddedPostgres({ dir, port: await freePort(), persistent: false })
  cleanups.push(async () => {
    await embedded.stop()
    rmSync(dir, { recursive: true, force: true })
  })
  return embedded.url
}

async function migrate(databaseUrl: string) {
  const child = Bun.spawn([process.execPath, 'src/db/cli.ts', 'migrate'], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: databaseUrl, NODE_ENV: 'development', LOG_LEVEL: 'warn' },
    stdout: 'ignore',
    stderr: 'inherit',
  })
  if ((await child.exited) !== 0) throw new Error('migrations failed')
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

interface Measured {
  rps: number
  p50Ms: number
  p99Ms: number
  errors: number
  rssMb?: number
  /** The API process's CPU time per request, in µs (median of the runs), where measured. */
  cpuUsPerRequest?: number
  /** Every run's requests/s, in the order measured: the spread behind the median. */
  runs: number[]
}

function summarise(runs: Array<WrkResult & { rssMb?: number; cpuUsPerRequest?: number }>): Measured {
  // The median run by throughput supplies the row's figures, so its latencies belong to it.
  const byRps = [...runs].sort((a, b) => a.rps - b.rps)
  const mid = byRps[Math.floor(byRps.length / 2)]!
  return {
    rps: median(runs.map((r) => r.rps)),
    p50Ms: mid.p50Ms,
    p99Ms: mid.p99Ms,
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
    rssMb: runs.some((r) => r.rssMb !== undefined) ? Math.max(...runs.map((r) => r.rssMb ?? 0)) : undefined,
    cpuUsPerRequest: runs.every((r) => r.cpuUsPerRequest !== undefined) ? median(runs.map((r) => r.cpuUsPerRequest!)) : undefined,
    runs: runs.map((r) => Math.round(r.rps)),
  }
}

interface Row {
  workload: string
  key: string
  connections: number
  api: Measured
  r: Measured
  h: Measured
  /** The same requests to the API started with METRICS_ENABLED=false, in the same rounds. */
  withoutMetrics?: Measured
  /** The same requests to the same API with the webhook endpoint removed, in the same rounds. */
  withoutWebhooks?: Measured & { backlogs: number[] }
}

async function main() {
  const databaseUrl = await openDatabase()
  progress(`database ready; applying migrations`)
  await migrate(databaseUrl)
  const db = new Client({ connectionString: databaseUrl })
  await db.connect()
  cleanups.push(() => db.end())
  const { customerId, adminId } = await seedBase(db)

  const jwtSecret = crypto.getRandomValues(new Uint8Array(48)).toBase64()
  const apiEnv = {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    JWT_SECRET: jwtSecret,
    DATABASE_URL: databaseUrl,
    MIGRATIONS_RUN: 'false',
    WEB_CONCURRENCY: String(workers),
    DATABASE_POOL_SIZE: String(poolSize),
    // The webhook rows deliver to a receiver on loopback.
    WEBHOOK_ALLOW_PRIVATE: 'true',
    // The login flood comes from other addresses through X-Forwarded-For, and costs a real check every time.
    ...(runsLoginFlood ? LOGIN_FLOOD_API_ENV : {}),
  }
  const api = await startService('API', join(root, 'src/index.ts'), apiEnv, '/health')
  cleanups.push(() => api.stop())
  // The same API without metrics (no request counting, no /metrics), for the rows that compare the two.
  const withoutMetrics = workloads.some((w) => w.compareWithoutMetrics)
    ? await startService('API without metrics', join(root, 'src/index.ts'), { ...apiEnv, METRICS_ENABLED: 'false' }, '/health')
    : undefined
  if (withoutMetrics) cleanups.push(() => withoutMetrics.stop())
  const ceiling = await startService(
    'R',
    join(import.meta.dir, 'servers/db-ceiling.ts'),
    // The same JWT_SECRET: R checks the API's cursors with the same derived key.
    { DATABASE_URL: databaseUrl, DATABASE_POOL_SIZE: String(ceilingPoolSize), BENCH_USER_ID: String(customerId), JWT_SECRET: jwtSecret },
    '/health',
  )
  cleanups.push(() => ceiling.stop())

  const basicOf = (user: { username: string; password: string }) => `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`
  const bearerOf = async (user: { username: string; password: string }) => {
    const login = await fetch(`${api.url}/login`, { method: 'POST', headers: { authorization: basicOf(user) } })
    if (login.status !== 200) throw new Error(`login failed: ${login.status} ${await login.text()}`)
    return `Bearer ${((await login.json()) as { access_token: string }).access_token}`
  }
  const bearer = await bearerOf(BENCH_USER)
  const admin = await bearerOf(BENCH_ADMIN)
  const headers = { bearer: { Authorization: bearer }, basic: { Authorization: basicOf(BENCH_USER) }, admin: { Authorization: admin } }

  const rows: Row[] = []
  const explains: Record<string, string> = {}
  const deliveryRates: Record<string, DeliveryRate> = {}
  const deliveryCapacities: Record<string, DeliveryCapacity> = {}
  for (const dataset of DATASETS) {
    const inDataset = workloads.filter((w) => w.dataset === dataset.key)
    if (!inDataset.length) continue
    progress(`seeding ${dataset.products.toLocaleString('en')} products`)
    await seedProducts(db, dataset.products)
    for (const workload of inDataset) {
      if (workload.explain) explains[workload.key] = await explain(db, workload.explain)
      const subscription = workload.webhooks ? await subscribeEverything(db) : undefined
      const beside: Beside | undefined = workload.compareWithoutMetrics
        ? { kind: 'metrics', service: withoutMetrics! }
        : subscription && { kind: 'webhooks', service: api, enter: subscription.pause, leave: subscription.resume, queued: subscription.queued }
      rows.push(...(await measureWorkload(workload, dataset, api, ceiling, headers[workload.auth], beside)))
      if (subscription) {
        progress(`${workload.key}: delivery capacity (5 s of orders @16 queued, then sent)`)
        const request = workload.request(dataset, headers[workload.auth])
        deliveryCapacities[workload.key] = await subscription.capacity(api.process.pid, () => runWrk(wrk, api.url, request, 16, 5))
        deliveryRates[workload.key] = await subscription.stop()
      }
    }
  }
  const csvKeys = CSV_KEYS.filter((key) => !only || only.includes(key))
  const csvRows: CsvRow[] = csvKeys.length ? await runCsvBench({ db, apiUrl: api.url, auth: admin, keys: csvKeys, rounds, progress }) : []
  const loginFlood = runsLoginFlood ? await measureLoginFlood(db, wrk, api.url, progress) : undefined
  let scale: { rows: ScaleRow[]; search: SearchTiming[]; floods: SearchFlood[] } = { rows: [], search: [], floods: [] }
  if (withScale) {
    const auth = { customer: headers.bearer, admin: headers.admin }
    scale = await runScale(wrk, db, { customerId, adminId }, api, ceiling, auth, progress)
  }
  return { rows, explains, csvRows, loginFlood, scale, deliveryRates, deliveryCapacities }
}

async function explain(db: Client, query: { sql: string; params: unknown[] }): Promise<string> {
  const { rows } = await db.query(`EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF) ${query.sql}`, query.params)
  return rows.map((row) => row['QUERY PLAN']).join('\n')
}

/** The H ceiling answers with the API's own response to one sample request. */
async function startHttpCeiling(workload: Workload, api: Service, auth: Record<string, string>): Promise<Service> {
  const sample = workload.sample
  const response = await fetch(api.url + sample.path, {
    method: sample.method,
    headers: { ...auth, 'content-type': 'application/json' },
    body: sample.body === undefined ? undefined : JSON.stringify(sample.body),
  })
  const body = await response.text()
  if (!response.ok) throw new Error(`${workload.key}: sample request answered ${response.status}: ${body}`)
  const file = join(tmpdir(), `inventory-bench-${workload.key}.json`)
  writeFileSync(file, body)
  cleanups.push(async () => rmSync(file, { force: true }))
  const server = await startService('H', join(import.meta.dir, 'servers/http-ceiling.ts'), { CEILING_STATUS: String(response.status), CEILING_BODY_FILE: file }, '/')
  return server
}

/**
 * A second measurement in the same rounds, back to back with the API's: the API started without
 * metrics (another process), or the same API with the webhook endpoint removed (`enter` removes it
 * once its deliveries are sent, `leave` puts it back; `queued` counts, after each of the API's runs,
 * the events it had not yet delivered, which the comparison would otherwise not see).
 */
interface Beside {
  kind: 'metrics' | 'webhooks'
  service: Service
  enter?: () => Promise<void>
  leave?: () => Promise<void>
  queued?: () => Promise<number>
}

async function measureWorkload(
  workload: Workload,
  dataset: Dataset,
  api: Service,
  ceiling: Service,
  auth: Record<string, string>,
  beside?: Beside,
): Promise<Row[]> {
  const h = await startHttpCeiling(workload, api, auth)
  const request = workload.request(dataset, auth)
  const rows: Row[] = []
  try {
    for (const connections of connectionCounts) {
      progress(`${workload.key} @${connections}: warming up`)
      // Warm-up, not recorded: JIT, connection pools, the Basic verification cache.
      await runWrk(wrk, api.url, request, connections, 2)
      await runWrk(wrk, ceiling.url, request, connections, 1)
      const backlogs: number[] = []
      const besideRun = async <T>(run: () => Promise<T>): Promise<T> => {
        await beside!.enter?.()
        try {
          return await run()
        } finally {
          await beside!.leave?.()
        }
      }
      if (beside) await besideRun(() => runWrk(wrk, beside.service.url, request, connections, 2))
      const runs = {
        api: [] as Array<WrkResult & { rssMb: number; cpuUsPerRequest: number }>,
        r: [] as WrkResult[],
        h: [] as WrkResult[],
        off: [] as Array<WrkResult & { cpuUsPerRequest: number }>,
      }
      // CPU per request resists a busy machine better than throughput: what the process spent, not how often it ran.
      const withCpu = async (service: Service) => {
        const cpuBefore = cpuSeconds(service.process.pid)
        const result = await runWrk(wrk, service.url, request, connections, seconds)
        return { ...result, cpuUsPerRequest: ((cpuSeconds(service.process.pid) - cpuBefore) * 1e6) / Math.max(result.requests, 1) }
      }
      const measure = {
        api: async () => {
          const memory = watchMemory(api.process.pid)
          const result = await withCpu(api)
          runs.api.push({ ...result, rssMb: memory.stop() })
          if (beside?.queued) backlogs.push(await beside.queued())
        },
        r: async () => void runs.r.push(await runWrk(wrk, ceiling.url, request, connections, seconds)),
        h: async () => void runs.h.push(await runWrk(wrk, h.url, request, connections, seconds)),
        off: () =>
          besideRun(async () => {
            const memory = watchMemory(beside!.service.process.pid) // the same conditions as the API's runs
            runs.off.push(await withCpu(beside!.service))
            memory.stop()
          }),
      }
      const order = ['api', 'r', 'h'] as const
      for (let round = 0; round < rounds; round++) {
        progress(`${workload.key} @${connections}: round ${round + 1}/${rounds}`)
        // Each server goes first in one round: whatever the database is doing (a checkpoint, new
        // WAL files after a burst of orders) does not always fall on the same one.
        for (let i = 0; i < order.length; i++) {
          const server = order[(round + i) % order.length]!
          // The comparison runs right beside the API, before it in every other round.
          if (server === 'api' && beside && round % 2 === 1) await measure.off()
          await measure[server]()
          if (server === 'api' && beside && round % 2 === 0) await measure.off()
        }
      }
      rows.push({
        workload: workload.label,
        key: workload.key,
        connections,
        api: summarise(runs.api),
        r: summarise(runs.r),
        h: summarise(runs.h),
        withoutMetrics: beside?.kind === 'metrics' ? summarise(runs.off) : undefined,
        withoutWebhooks: beside?.kind === 'webhooks' ? { ...summarise(runs.off), backlogs } : undefined,
      })
    }
  } finally {
    await h.stop()
  }
  return rows
}

const fmt = (value: number, digits = 0) => value.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits })

function table(rows: Row[]): string {
  const header = ['workload', 'conns', 'API req/s', 'p50 ms', 'p99 ms', 'RSS MB', 'R req/s', 'H req/s', 'API/R', 'API/H', 'errors']
  const lines = rows.map((row) => [
    row.workload,
    String(row.connections),
    fmt(row.api.rps),
    fmt(row.api.p50Ms, 2),
    fmt(row.api.p99Ms, 2),
    fmt(row.api.rssMb ?? 0),
    fmt(row.r.rps),
    fmt(row.h.rps),
    fmt(row.api.rps / row.r.rps, 2),
    fmt(row.api.rps / row.h.rps, 2),
    `${row.api.errors}/${row.r.errors}/${row.h.errors}`,
  ])
  const widths = header.map((title, i) => Math.max(title.length, ...lines.map((line) => line[i]!.length)))
  const render = (cells: string[]) => `| ${cells.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join(' | ')} |`
  return [render(header), `|${widths.map((w, i) => (i < 2 ? ':' : '-') + '-'.repeat(w) + (i < 2 ? '-' : ':')).join('|')}|`, ...lines.map(render)].join('\n')
}

interface Check {
  target: string
  met: boolean
  detail: string
}

function checks(rows: Row[], loginFlood: LoginFlood | undefined): Check[] {
  const out: Check[] = []
  if (loginFlood) {
    const value = loginFlood.floodMedianMs / loginFlood.idleMedianMs
    out.push({
      target: 'first login during a wrong-password flood from another address ≤ 3 × idle (median)',
      met: value <= 3,
      detail: `${fmt(loginFlood.floodMedianMs, 1)} ms vs ${fmt(loginFlood.idleMedianMs, 1)} ms = ${fmt(value, 2)}×`,
    })
  }
  const find = (key: string, connections: number) => rows.find((row) => row.key === key && row.connections === connections)
  const ratio = (key: string, label: string, min: number) => {
    for (const row of rows.filter((r) => r.key === key)) {
      const value = row.api.rps / row.r.rps
      out.push({ target: `${label} @${row.connections} ≥ ${min} × R`, met: value >= min, detail: `${fmt(value, 2)} × R` })
    }
  }
  ratio('product-bearer', 'GET /products/{id} Bearer', 0.8)
  for (const row of rows.filter((r) => r.withoutMetrics)) {
    const without = row.withoutMetrics!
    // Each round runs the two back to back: the median of those paired ratios resists the machine's
    // swings better than a ratio of medians taken from different moments.
    const paired = median(row.api.runs.map((rps, round) => rps / without.runs[round]!))
    const cpu = row.api.cpuUsPerRequest! / without.cpuUsPerRequest!
    out.push({
      target: `${row.workload} @${row.connections}: metrics cost ≤ 3 % of the API's CPU per request`,
      met: cpu <= 1.03,
      detail:
        `${fmt(row.api.cpuUsPerRequest!)} vs ${fmt(without.cpuUsPerRequest!)} µs CPU per request (${fmt((cpu - 1) * 100, 1)} %); ` +
        `throughput ${fmt(row.api.rps)} vs ${fmt(without.rps)} req/s, median of the ${row.api.runs.length} paired rounds ${fmt(paired, 3)} × ` +
        `(runs ${row.api.runs.join('/')} vs ${without.runs.join('/')})`,
    })
  }
  for (const connections of connectionCounts) {
    const basic = find('product-basic', connections)
    const bearer = find('product-bearer', connections)
    if (basic && bearer) {
      const value = basic.api.rps / bearer.api.rps
      out.push({ target: `Basic warm @${connections} ≥ 0.9 × Bearer`, met: value >= 0.9, detail: `${fmt(value, 2)} × Bearer` })
    }
    for (const [kind, suffix] of [['model code', ''], ['material noun', '-broad']] as const) {
      const small = find(`search${suffix}-1k`, connections)
      const large = find(`search${suffix}-200k`, connections)
      if (small && large) {
        const value = large.api.p50Ms / small.api.p50Ms
        out.push({
          target: `search (${kind}) p50 at 200k @${connections} ≤ 3 × at 1k`,
          met: value <= 3,
          detail: `${fmt(large.api.p50Ms, 2)} ms vs ${fmt(small.api.p50Ms, 2)} ms = ${fmt(value, 2)}×`,
        })
      }
    }
  }
  ratio('list', 'GET /products?limit=50 (filter + sort)', 0.75)
  ratio('orders-spread', 'POST /orders spread', 0.6)
  ratio('orders-hot', 'POST /orders hot product', 0.8)
  ratio('adjust', 'POST /products/{id}/stock-adjustments', 0.6)
  for (const row of rows.filter((r) => r.withoutWebhooks)) {
    const without = row.withoutWebhooks!
    const paired = median(row.api.runs.map((rps, round) => rps / without.runs[round]!))
    // The separate row without webhooks, measured minutes apart, for reference.
    const plain = find('orders-spread', row.connections)
    out.push({
      target: `POST /orders spread with webhooks @${row.connections} ≥ 0.8 × without`,
      met: paired >= 0.8,
      detail:
        `median of the ${row.api.runs.length} paired rounds ${fmt(paired, 2)} × without (runs ${row.api.runs.join('/')} vs ${without.runs.join('/')}; ` +
        `events not yet delivered when each run with webhooks ended: ${without.backlogs.join('/')})` +
        (plain ? `; ${fmt(row.api.rps / plain.api.rps, 2)} × the orders-spread row` : ''),
    })
  }
  for (const key of ['orders-spread', 'orders-hot']) {
    const [low, high] = connectionCounts.map((c) => find(key, c))
    if (low && high) {
      const value = high.api.rps / low.api.rps
      out.push({ target: `${key} no collapse @${low.connections}→@${high.connections} (≥ 0.9×)`, met: value >= 0.9, detail: `${fmt(value, 2)}×` })
    }
  }
  const errors = rows.reduce((sum, row) => sum + row.api.errors, 0)
  out.push({ target: 'no API errors (status ≥ 400, socket errors, timeouts)', met: errors === 0, detail: String(errors) })
  const basic64 = find('product-basic', Math.max(...connectionCounts))
  if (basic64?.api.rssMb !== undefined) {
    out.push({ target: `API RSS under Basic @${basic64.connections} ≤ 250 MB`, met: basic64.api.rssMb <= 250, detail: `${fmt(basic64.api.rssMb)} MB` })
  }
  return out
}

async function machine() {
  const kernel = await new Response(Bun.spawn(['uname', '-srm'], { stdout: 'pipe' }).stdout).text()
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memory_gib: Math.round(totalmem() / 2 ** 30),
    kernel: kernel.trim(),
    bun: Bun.version,
    load_average_at_start: (await Bun.file('/proc/loadavg').text()).split(' ').slice(0, 3).join(' '),
  }
}

try {
  const host = await machine()
  const { rows, explains, csvRows, loginFlood, scale, deliveryRates, deliveryCapacities } = await main()
  const results = [...checks(rows, loginFlood), ...scaleChecks(scale.rows)]
  for (const row of csvRows) {
    const ratio = row.api / row.copy
    results.push({ target: `${row.label} ≥ ${row.target} × COPY`, met: ratio >= row.target, detail: `${fmt(ratio, 2)} × COPY` })
  }
  const totalSeconds = (performance.now() - started) / 1000
  console.log(`\nInventory API benchmark — ${host.cores} × ${host.cpu}, ${host.memory_gib} GiB, Bun ${host.bun}, ${host.kernel}`)
  console.log(`API: NODE_ENV=production LOG_LEVEL=warn WEB_CONCURRENCY=${workers} DATABASE_POOL_SIZE=${poolSize} (R: one process, pool ${ceilingPoolSize}); wrk -t2, ${seconds} s per run, median of ${rounds}; load average at start ${host.load_average_at_start}`)
  console.log('R = bare Bun.serve + pg pool running the endpoint\'s SQL; H = bare Bun.serve returning the API\'s response; errors = API/R/H\n')
  if (rows.length) console.log(table(rows))
  if (csvRows.length) console.log(`\nCSV (rows/s, median of ${rounds}; COPY = PostgreSQL's own COPY of the same rows, same tables and indexes)\n\n${csvTable(csvRows)}`)
  if (loginFlood) {
    const list = (values: number[]) => values.map((ms) => fmt(ms, 0)).join(' ')
    console.log(`\n${LOGIN_FLOOD_KEY}: POST /login (Basic, a new user each time), one at a time from 198.51.100.7`)
    console.log(`  idle:        median ${fmt(loginFlood.idleMedianMs, 1)} ms  [${list(loginFlood.idleMs)}]`)
    console.log(`  during flood: median ${fmt(loginFlood.floodMedianMs, 1)} ms  [${list(loginFlood.floodMs)}]`)
    console.log(`  flood: ${fmt(loginFlood.flood.rps)} req/s of wrong passwords from 203.0.113.66 (64 connections; all answered 401 or 429)`)
  }
  if (scale.rows.length) {
    console.log(`\nScale: p50/p99 in ms at 1k and 1M rows, @16 connections, wrk ${SCALE_SECONDS} s per run, median of ${SCALE_RUNS} runs each; × = 1M / 1k; errors = API/R`)
    console.log(scaleTable(scale.rows))
    console.log('\nSearch, as run (trigram ILIKE) vs PostgreSQL full-text search, the same page and count: median ms of 15 runs, 4 terms')
    for (const t of scale.search) console.log(`  ${t.size.toLocaleString('en').padStart(9)} products, ${t.term.padEnd(9)}: trigram ${fmt(t.trigramMs, 2)} ms, full-text ${fmt(t.fullTextMs, 2)} ms`)
    console.log('\nGET /products (p50 / p99 ms, req/s, @16) alone and while 16 more connections search for two letters found in no product')
    for (const f of scale.floods) console.log(`  ${searchFloodLine(f)}`)
  }
  console.log('\nTargets:')
  for (const check of results) console.log(`  ${check.met ? 'met    ' : 'NOT MET'}  ${check.target}: ${check.detail}`)
  for (const [key, rate] of Object.entries(deliveryRates)) {
    console.log(`\nWebhook delivery rate after ${key}: ${fmt(rate.eventsPerSecond)} events/s (${fmt(rate.delivered)} of a backlog of ${fmt(rate.backlog)} deliveries sent in ${fmt(rate.seconds, 1)} s by the API's delivery process)`)
  }
  for (const [key, capacity] of Object.entries(deliveryCapacities)) {
    const cpu = capacity.cpuUsPerEvent
    console.log(
      `Webhook delivery capacity after ${key}: ${fmt(capacity.eventsPerSecond)} events/s (${fmt(capacity.events)} queued events sent in ${fmt(capacity.seconds, 1)} s); ` +
        `CPU per event ${fmt(cpu.total)} µs: delivery process ${fmt(cpu.deliveryProcess)}, its PostgreSQL sessions ${fmt(cpu.itsDatabaseSessions)}, ` +
        `PostgreSQL background ${fmt(cpu.databaseBackground)}, receiver (the bench process) ${fmt(cpu.receiver)}; WAL per event ${fmt(capacity.walBytesPerEvent)} bytes`,
    )
  }
  for (const [key, plan] of Object.entries(explains)) console.log(`\nEXPLAIN ANALYZE (${key}):\n${plan.replace(/^/gm, '  ')}`)
  console.log(`\nTotal time: ${fmt(totalSeconds)} s`)
  mkdirSync(join(import.meta.dir, 'results'), { recursive: true })
  writeFileSync(
    join(import.meta.dir, 'results/latest.json'),
    JSON.stringify({ date: new Date().toISOString(), machine: host, settings: { seconds, rounds, connectionCounts, workers, poolSize, ceilingPoolSize }, rows, csv: csvRows, login_flood: loginFlood, scale, checks: results, explains, delivery_rates: deliveryRates, delivery_capacities: deliveryCapacities, total_seconds: Math.round(totalSeconds) }, null, 2) + '\n',
  )
} catch (error) {
  console.error(error)
  process.exitCode = 1
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {})
}
