/**
 * Shared harness of the fault tests (`bun run test:faults`): a real PostgreSQL the test owns and
 * can stop and start, the real server process (`bun src/index.ts`) it can kill and restart, seeds
 * written straight with SQL, and HTTP helpers that record every outcome over real sockets.
 *
 * Nothing here imports the app (src/config would parse this process's environment): the server
 * is a black box reached through its port and its database.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { Client } from 'pg'
import { embeddedUrl, startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/embedded'

const ROOT = join(import.meta.dir, '../..')

/** The exact body the spec requires for anything unexpected, database outages included. */
export const GENERIC_500 = { error: 'Internal Server Error', message: 'An unexpected error occurred, please try again later.' }

/** Bounded polling: `check` until it returns a value, or an error naming `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await Bun.sleep(everyMs)
  }
}

export async function freePort(): Promise<number> {
  const probe = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response() })
  const port = probe.port!
  probe.stop(true)
  return port
}

/** A process as /proc shows it: its parent, its nice value and its command line. */
export interface ProcessInfo {
  pid: number
  ppid: number
  nice: number
  command: string
}

/** /proc/<pid>/stat (fields after the parenthesised name: state, ppid, ..., nice is the 17th) and cmdline; undefined once it has exited. */
export function processInfo(pid: number): ProcessInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    if (fields[0] === 'Z') return undefined // a zombie has exited; only its parent has not reaped it yet
    const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ')
    return { pid, ppid: Number(fields[1]), nice: Number(fields[16]), command }
  } catch {
    return undefined
  }
}

/** The processes whose parent is `parent`, from /proc. */
export function childPids(parent: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => processInfo(pid)?.ppid === parent)
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL owned by the test
// ---------------------------------------------------------------------------------------------

/**
 * An embedded PostgreSQL in its own folder under /tmp, kept across stops (persistent) so that it
 * can be restarted in place on the same port, as a real server would be.
 */
export class FaultDatabase {
  /** The server's own log lines (shutdown mode, crash recovery), for assertions and failures. */
  readonly log: string[] = []
  private embedded: EmbeddedDatabase | undefined
  private frozen: number[] = []

  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  static async create(name: string): Promise<FaultDatabase> {
    const db = new FaultDatabase(`/tmp/inventory-faults-${name}-${process.pid}-${Date.now()}`, await freePort())
    await db.start()
    return db
  }

  get url(): string {
    return embeddedUrl(this.port)
  }

  get running(): boolean {
    return this.embedded !== undefined
  }

  /** Starts (or restarts) the server; resolves once it accepts connections. */
  async start(): Promise<void> {
    this.embedded = await startEmbeddedPostgres({
      dir: this.dir,
      port: this.port,
      persistent: true,
      log: (chunk) => this.log.push(...chunk.split('\n').filter(Boolean)),
    })
  }

  /** "fast" shutdown: the library's stop() sends SIGINT; sessions are terminated, a checkpoint is written. */
  async stopFast(): Promise<void> {
    await this.embedded?.stop()
    this.embedded = undefined
  }

  /**
   * "immediate" shutdown: SIGQUIT to the postmaster named in postmaster.pid, as a crash would
   * leave things: no checkpoint, crash recovery at the next start. The library's stop() is called
   * in the same tick only so that it sees its child exit (its own SIGINT arrives alongside and
   * PostgreSQL acts on the most immediate pending request); otherwise its exit hook would later
   * wait for an exit that already happened.
   */
  async stopImmediate(): Promise<void> {
    process.kill(this.postmasterPid(), 'SIGQUIT')
    await this.embedded?.stop()
    this.embedded = undefined
  }

  /**
   * Freezes the server as a hung host would: SIGSTOP to the postmaster, then to every process it
   * started (backends, checkpointer, WAL writer...). Connections stay open and the kernel still
   * accepts new ones and acknowledges TCP, but nothing answers. Returns the frozen pids.
   */
  freeze(): number[] {
    const postmaster = this.postmasterPid()
    process.kill(postmaster, 'SIGSTOP') // first, so that it starts no new child meanwhile
    const children = childPids(postmaster)
    for (const pid of children) process.kill(pid, 'SIGSTOP')
    this.frozen = [postmaster, ...children]
    return this.frozen
  }

  /** Resumes what freeze() stopped, children first. */
  thaw(): void {
    for (const pid of this.frozen.toReversed()) process.kill(pid, 'SIGCONT')
    this.frozen = []
  }

  postmasterPid(): number {
    const pid = Number.parseInt(readFileSync(join(this.dir, 'postmaster.pid'), 'utf8').split('\n')[0]!, 10)
    if (!Number.isInteger(pid) || pid <= 0) throw new Error('no postmaster pid')
    return pid
  }

  /** A new connection of its own (for holding locks); the caller ends it. */
  async connect(): Promise<Client> {
    const client = new Client({ connectionString: this.url, connectionTimeoutMillis: 5000, application_name: 'fault-test' })
    client.on('error', () => {}) // a restart of the server ends it; the test notices on its next query
    await client.connect()
    return client
  }

  /** One query on a short-lived connection: it survives server restarts between calls. */
  async query<T = Record<string, any>>(sql: string, params: unknown[] = []): Promise<T[]> {
    const client = await this.connect()
    try {
      return (await client.query(sql, params)).rows as T[]
    } finally {
      await client.end().catch(() => {})
    }
  }

  /** Stops the server without a checkpoint (its data is thrown away next) and deletes its folder. */
  async destroy(): Promise<void> {
    if (this.frozen.length) this.thaw()
    if (this.running) await this.stopImmediate().catch(() => this.stopFast())
    if (existsSync(this.dir)) await rm(this.dir, { recursive: true, force: true })
  }
}

// ---------------------------------------------------------------------------------------------
// The server process
// ---------------------------------------------------------------------------------------------

const liveServers = new Set<Bun.Subprocess>()
// A test process that dies must not leave a server behind on the shared machine.
process.on('exit', () => {
  for (const server of liveServers) server.kill('SIGKILL')
})

export const JWT_SECRET = 'fault-test-secret-that-is-at-least-32-bytes!'

/** `bun src/index.ts` as deployed, against the test's database, on a port of its own. */
export class ApiProcess {
  /** The last lines the server wrote (structured logs), shown when a test fails. */
  readonly output: string[] = []
  /** Errors the server logged (where the details belong), by message, with how many carried a request id. */
  readonly loggedErrors = new Map<string, { count: number; withRequestId: number }>()
  private process: Bun.Subprocess<'ignore', 'pipe', 'pipe'> | undefined
  private readonly env: Record<string, string>

  private constructor(
    readonly port: number,
    db: Pick<FaultDatabase, 'url'>,
    overrides: Record<string, string>,
  ) {
    this.env = {
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_URL: db.url,
      JWT_SECRET,
      PASSWORD_MEMORY_KIB: '256',
      PASSWORD_TIME_COST: '1',
      LOG_LEVEL: 'warn',
      MIGRATIONS_RUN: 'true',
      ADMIN_USERNAME: 'admin',
      ADMIN_PASSWORD: 'fault-admin-password',
      ...overrides,
    }
  }

  /** Spawns the server and waits until /health/ready answers 200 (migrations applied). */
  static async start(db: Pick<FaultDatabase, 'url'>, env: Record<string, string> = {}): Promise<ApiProcess> {
    const api = new ApiProcess(await freePort(), db, env)
    await api.spawn()
    return api
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`
  }

  get pid(): number | undefined {
    return this.process?.pid
  }

  /** The exit code once the process has exited (null while it runs, or when a signal ended it). */
  get exitCode(): number | null {
    return this.process?.exitCode ?? null
  }

  /** True while the process has not exited. */
  get running(): boolean {
    return this.process !== undefined && this.process.exitCode === null && this.process.signalCode === null
  }

  async spawn(): Promise<void> {
    const child = Bun.spawn([process.execPath, 'src/index.ts'], { cwd: ROOT, env: this.env, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' })
    this.process = child
    liveServers.add(child)
    void child.exited.then(() => liveServers.delete(child))
    void this.drain(child.stdout)
    void this.drain(child.stderr)
    await this.waitReady(30_000)
  }

  /** Keeps reading the pipes (a full pipe would block the server) and remembers the tail. */
  private async drain(stream: ReadableStream<Uint8Array>) {
    const decoder = new TextDecoder()
    let pending = ''
    for await (const chunk of stream) {
      pending += decoder.decode(chunk, { stream: true })
      const lines = pending.split('\n')
      pending = lines.pop() ?? ''
      this.output.push(...lines)
      for (const line of lines) this.countError(line)
      if (this.output.length > 400) this.output.splice(0, this.output.length - 400)
    }
  }

  private countError(line: string) {
    let entry: { level?: string; msg?: string; request_id?: string; error?: { message?: string } | string }
    try {
      entry = JSON.parse(line)
    } catch {
      return
    }
    if (entry.level !== 'error') return
    const detail = typeof entry.error === 'string' ? entry.error : entry.error?.message
    const key = `${entry.msg}: ${String(detail).slice(0, 80)}`
    const seen = this.loggedErrors.get(key) ?? { count: 0, withRequestId: 0 }
    seen.count++
    if (entry.request_id) seen.withRequestId++
    this.loggedErrors.set(key, seen)
  }

  async waitReady(timeoutMs: number): Promise<void> {
    await waitFor(`${this.url}/health/ready`, timeoutMs, async () => {
      if (!this.running) throw new Error(`the server exited (${this.process?.exitCode ?? this.process?.signalCode}):\n${this.tail()}`)
      const response = await fetch(`${this.url}/health/ready`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined)
      return response?.status === 200 ? true : undefined
    })
  }

  /** kill -9: no shutdown handler runs, in-flight requests and transactions are cut. */
  async kill9(): Promise<void> {
    this.process?.kill('SIGKILL')
    await this.process?.exited
  }

  /** Starts the process again on the same port, as a supervisor would. */
  async restart(): Promise<void> {
    if (this.running) throw new Error('the server is still running')
    await this.spawn()
  }

  /** Graceful stop (SIGTERM), with SIGKILL after 10 s so a hung shutdown cannot hang the suite. */
  async stop(): Promise<void> {
    if (!this.process || !this.running) return
    this.process.kill('SIGTERM')
    const timer = setTimeout(() => this.process?.kill('SIGKILL'), 10_000)
    await this.process.exited
    clearTimeout(timer)
  }

  tail(lines = 30): string {
    return this.output.slice(-lines).join('\n')
  }
}

/** `bun run db:migrate` against the test's database, as the one-shot migration step of a deployment. */
export async function migrate(db: FaultDatabase): Promise<void> {
  const child = Bun.spawn([process.execPath, 'src/db/cli.ts', 'migrate'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', NODE_ENV: 'test', DATABASE_URL: db.url, JWT_SECRET },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  if ((await child.exited) !== 0) throw new Error(`migration failed: ${await new Response(child.stderr).text()}`)
}

// ---------------------------------------------------------------------------------------------
// Seeds (straight SQL, after the server has applied the migrations)
// ---------------------------------------------------------------------------------------------

export interface Customer {
  id: number
  username: string
  authorization: string
}

/** Customers with argon2id hashes as cheap as the server's test settings (the hash carries its own parameters). */
export async function seedCustomers(db: FaultDatabase, count: number, prefix = 'buyer'): Promise<Customer[]> {
  const customers: Customer[] = []
  for (let i = 0; i < count; i++) {
    const username = `${prefix}${i}`
    const password = `${prefix}-password-${i}`
    const hash = await Bun.password.hash(password, { algorithm: 'argon2id', memoryCost: 256, timeCost: 1 })
    const [row] = await db.query<{ id: number }>(
      `INSERT INTO users (username, password_hash, role) VALUES ($1, $2, 'customer') RETURNING id`,
      [username, hash],
    )
    customers.push({ id: row!.id, username, authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` })
  }
  return customers
}

/** A product with its 'initial' movement, so that stock = sum of movements from the start. */
export async function seedProduct(db: FaultDatabase, name: string, stock: number): Promise<number> {
  const [row] = await db.query<{ id: number }>(
    `INSERT INTO products (name, price, stock_quantity, low_stock_threshold) VALUES ($1, '9.99', $2, 0) RETURNING id`,
    [name, stock],
  )
  await db.query(`INSERT INTO stock_movements (product_id, delta, stock_after, reason) VALUES ($1, $2, $2, 'initial')`, [row!.id, stock])
  return row!.id
}

/** Holds a product's row lock from a connection of the test's own, as a long transaction would. */
export async function lockProduct(db: FaultDatabase, productId: number): Promise<{ release(): Promise<void> }> {
  const locker = await db.connect()
  await locker.query('BEGIN')
  await locker.query('SELECT 1 FROM products WHERE id = $1 FOR UPDATE', [productId])
  return {
    async release() {
      await locker.query('ROLLBACK')
      await locker.end()
    },
  }
}

/** The server's database sessions that are waiting for a lock (its requests stalled on a row). */
export async function stalledSessions(db: FaultDatabase): Promise<number> {
  const [row] = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'inventory-api' AND wait_event_type = 'Lock'`,
  )
  return row!.n
}

export interface Ledger {
  stock: number
  movements: number
  orders: number
  ordered: number
}

/** The product's stock, the sum of its movements, and its orders (count and units). */
export async function ledgerOf(db: FaultDatabase, productId: number): Promise<Ledger> {
  const [row] = await db.query<Ledger>(
    `SELECT stock_quantity AS stock,
       (SELECT coalesce(sum(delta), 0)::int FROM stock_movements WHERE product_id = p.id) AS movements,
       (SELECT count(*)::int FROM orders WHERE product_id = p.id) AS orders,
       (SELECT coalesce(sum(quantity), 0)::int FROM orders WHERE product_id = p.id) AS ordered
     FROM products p WHERE id = $1`,
    [productId],
  )
  return row!
}

// ---------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------

export interface Reply {
  status: number
  text: string
  body: any
  headers: Headers
}

/** What a client saw: a reply, or no reply at all (connection refused or reset, timeout). */
export type Outcome = ({ reply: Reply; error?: undefined } | { reply?: undefined; error: string }) & { at: number; ms: number }

export interface SendOptions {
  authorization?: string
  body?: unknown
  headers?: Record<string, string>
  timeoutMs?: number
  /** Lets the test give up on the request itself, as an impatient client would. */
  signal?: AbortSignal
  /** A new connection for this request (no keep-alive): with several workers, the kernel picks one anew. */
  newConnection?: boolean
}

export async function send(baseUrl: string, method: string, path: string, options: SendOptions = {}): Promise<Outcome> {
  const headers = new Headers(options.headers)
  if (options.authorization) headers.set('authorization', options.authorization)
  if (options.body !== undefined) headers.set('content-type', 'application/json')
  const at = performance.now()
  try {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      keepalive: !options.newConnection,
      signal: AbortSignal.any([AbortSignal.timeout(options.timeoutMs ?? 15_000), ...(options.signal ? [options.signal] : [])]),
    })
    const text = await response.text()
    let body: unknown = text
    try {
      body = JSON.parse(text)
    } catch {}
    return { reply: { status: response.status, text, body, headers: response.headers }, at, ms: performance.now() - at }
  } catch (error) {
    return { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error), at, ms: performance.now() - at }
  }
}

/** What an error body must never carry: stack frames, SQL, driver or ORM messages. */
const LEAK =
  /\bat \S+ \(|\.[jt]s:\d+|\b(select|insert|update|delete)\b[^"]*\b(from|into|set)\b|QueryFailed|TypeORM|Driver not|ECONN|EPIPE|terminat|Connection terminated|timeout exceeded|statement timeout|canceling statement|shutting down|starting up|recovery mode|pg_|postgres|duplicate key|violates|relation "|stack/i

/** Every error body is `{error, message}` JSON without internals; a 5xx is exactly the generic body. */
export function errorBodyProblem(reply: Reply): string | undefined {
  if (reply.status < 400) return undefined
  if (LEAK.test(reply.text)) return `leaks internals: ${reply.status} ${reply.text.slice(0, 300)}`
  const body = reply.body
  if (typeof body !== 'object' || body === null || typeof body.error !== 'string' || typeof body.message !== 'string' || Object.keys(body).length !== 2)
    return `not an {error, message} JSON body: ${reply.status} ${reply.text.slice(0, 300)}`
  if (reply.status >= 500 && (reply.status !== 500 || body.error !== GENERIC_500.error || body.message !== GENERIC_500.message))
    return `a 5xx other than the generic 500: ${reply.status} ${reply.text}`
  return undefined
}

// ---------------------------------------------------------------------------------------------
// Orders with an Idempotency-Key, retried until their outcome is known
// ---------------------------------------------------------------------------------------------

export interface LogicalOrder {
  key: string
  customer: Customer
  body: { product_id: number; quantity: number }
  attempts: Outcome[]
}

/** A definitive answer: the order exists (201) or was refused for good (4xx other than "in progress"). */
export function isDefinitive(outcome: Outcome | undefined): boolean {
  const reply = outcome?.reply
  if (!reply || reply.status >= 500) return false
  return !(reply.status === 409 && /in progress/i.test(reply.body?.message ?? ''))
}

export const lastReply = (order: LogicalOrder): Reply | undefined => order.attempts.at(-1)?.reply

export async function placeOnce(baseUrl: string, order: LogicalOrder, options: Pick<SendOptions, 'timeoutMs' | 'signal'> = {}): Promise<Outcome> {
  const outcome = await send(baseUrl, 'POST', '/orders', {
    authorization: order.customer.authorization,
    body: order.body,
    headers: { 'idempotency-key': order.key },
    ...options,
  })
  order.attempts.push(outcome)
  return outcome
}

/**
 * Retries every order whose outcome is unknown (no reply, a 5xx, or "still in progress") with the
 * SAME key and body, a few at a time, until each has a definitive answer. Returns how many needed it.
 */
export async function settle(baseUrl: string, orders: LogicalOrder[], options: { timeoutMs: number; concurrency?: number }) {
  const unknown = orders.filter((order) => !isDefinitive(order.attempts.at(-1)))
  const queue = [...unknown]
  const deadline = Date.now() + options.timeoutMs
  const worker = async () => {
    for (let order = queue.shift(); order; order = queue.shift()) {
      for (let attempt = 0; !isDefinitive(order.attempts.at(-1)); attempt++) {
        if (Date.now() > deadline) throw new Error(`order ${order.key} still has no definitive answer after ${options.timeoutMs} ms`)
        if (attempt > 0) await Bun.sleep(Math.min(50 * attempt, 500))
        await placeOnce(baseUrl, order)
      }
    }
  }
  await Promise.all(Array.from({ length: options.concurrency ?? 16 }, worker))
  return unknown.length
}

/**
 * The invariants after a fault, from the database alone and from what clients were told:
 * every 201 exists with its body, no key made two orders, nothing else was ordered,
 * initial = stock + ordered units, movements sum to the stock, and no refusal was false.
 */
export async function checkOrderInvariants(db: FaultDatabase, productId: number, initialStock: number, orders: LogicalOrder[]) {
  const problems: string[] = []
  const acknowledged = new Map<number, LogicalOrder>()
  for (const order of orders) {
    const created = order.attempts.filter((outcome) => outcome.reply?.status === 201).map((outcome) => outcome.reply!.body.id as number)
    if (new Set(created).size > 1) problems.push(`key ${order.key} was answered with different orders: ${created.join(', ')}`)
    for (const id of created) {
      if (acknowledged.has(id) && acknowledged.get(id) !== order) problems.push(`order ${id} acknowledged to two keys`)
      acknowledged.set(id, order)
    }
  }
  const rows = await db.query<{ id: number; user_id: number; quantity: number; product_id: number }>(
    'SELECT id, user_id, quantity, product_id FROM orders WHERE product_id = $1',
    [productId],
  )
  const found = new Map(rows.map((row) => [row.id, row]))
  for (const [id, order] of acknowledged) {
    const row = found.get(id)
    if (!row) problems.push(`order ${id} was acknowledged (201) but is not in the database`)
    else if (row.user_id !== order.customer.id || row.quantity !== order.body.quantity)
      problems.push(`order ${id} differs from its request: ${JSON.stringify(row)} vs ${JSON.stringify(order.body)}`)
  }
  for (const id of found.keys()) if (!acknowledged.has(id)) problems.push(`order ${id} exists but no client was told (a key that ordered twice?)`)

  // The server's own record: one stored outcome per key, each naming a distinct existing order.
  const keys = await db.query<{ key: string; order_id: number }>(
    `SELECT key, (response_body->>'id')::int AS order_id FROM idempotency_keys WHERE status_code = 201 AND (response_body->>'product_id')::int = $1`,
    [productId],
  )
  const keyOrders = keys.map((row) => row.order_id)
  if (new Set(keyOrders).size !== keyOrders.length) problems.push('two keys store the same order')
  if (keys.length !== found.size) problems.push(`${keys.length} stored keys for ${found.size} orders`)

  const ledger = await ledgerOf(db, productId)
  if (initialStock !== ledger.stock + ledger.ordered) problems.push(`initial ${initialStock} != stock ${ledger.stock} + ordered ${ledger.ordered}`)
  if (ledger.movements !== ledger.stock) problems.push(`movements sum ${ledger.movements} != stock ${ledger.stock}`)
  if (ledger.stock < 0) problems.push(`negative stock ${ledger.stock}`)
  const refused = orders.filter((order) => lastReply(order)?.status === 400)
  for (const order of refused) {
    if (lastReply(order)?.body?.error !== 'Insufficient stock') problems.push(`unexpected 400 for ${order.key}: ${lastReply(order)?.text}`)
    // Stock only goes down here: a refusal is true only if even the final stock cannot serve it.
    else if (ledger.stock >= order.body.quantity) problems.push(`${order.key} refused although ${ledger.stock} units remain`)
  }
  return { problems, acknowledged: acknowledged.size, refused: refused.length, found: found.size, storedKeys: keys.length, ledger }
}

// ---------------------------------------------------------------------------------------------
// A steady mixed load
// ---------------------------------------------------------------------------------------------

export interface Sample {
  op: 'order' | 'read' | 'list'
  /** Which server the request went to (an index into the load's URLs). */
  server: number
  outcome: Outcome
}

export const ok = (outcome: Outcome) => outcome.reply !== undefined && outcome.reply.status < 300

/**
 * A steady, bounded load: one client per customer in a loop, each sending an order (fresh key), a
 * product read and an order list in turn, with a short pause, to the servers in turn (client i
 * starts at server i); it stops when told or after maxRequests.
 */
export class SteadyLoad {
  readonly samples: Sample[] = []
  readonly orders: LogicalOrder[] = []
  private stopped = false
  private readonly running: Promise<void[]>

  constructor(urls: string[], customers: Customer[], productId: number, options: { maxRequests?: number; pauseMs?: number; quantity?: number } = {}) {
    const { maxRequests = 20_000, pauseMs = 10, quantity = 1 } = options
    this.running = Promise.all(
      customers.map(async (customer, worker) => {
        for (let i = 0; !this.stopped && this.samples.length < maxRequests; i++) {
          const op = (['order', 'read', 'list'] as const)[(i + worker) % 3]!
          const server = (i + worker) % urls.length
          let outcome: Outcome
          if (op === 'order') {
            const order: LogicalOrder = {
              key: `load-${worker}-${i}-${crypto.randomUUID().slice(0, 8)}`,
              customer,
              body: { product_id: productId, quantity },
              attempts: [],
            }
            this.orders.push(order)
            outcome = await placeOnce(urls[server]!, order)
          } else {
            const path = op === 'read' ? `/products/${productId}` : '/orders?limit=5'
            outcome = await send(urls[server]!, 'GET', path, { authorization: customer.authorization })
          }
          this.samples.push({ op, server, outcome })
          await Bun.sleep(pauseMs)
        }
      }),
    )
  }

  /** Samples of requests sent at or after `t` (performance.now() time). */
  since(t: number): Sample[] {
    return this.samples.filter((sample) => sample.outcome.at >= t)
  }

  async stop() {
    this.stopped = true
    await this.running
  }
}

/** How many user-change LISTEN connections the servers hold. */
export const listenerSessions = async (db: FaultDatabase) =>
  (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'inventory-api-listener'`))[0]!.n
