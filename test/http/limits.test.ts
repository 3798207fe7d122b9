/**
 * Limits and headers: body size, header size, string lengths, array sizes, page size, order
 * quantity, the request timeout, security headers. Through app.handle() where the app decides,
 * over real sockets where Bun (or nginx in front) does.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { z } from 'zod'
import { configSchema } from '../../src/config'
import { DRAIN_MAX_BYTES } from '../../src/http/json-body'
import { insertProduct } from '../support/fixtures'
import { app, call, insertCategory, query, resetDatabase, type Seeded } from '../support/helpers'

const root = join(import.meta.dir, '../..')
const LIMIT = 1024 * 1024

let users: Seeded
beforeEach(async () => {
  users = await resetDatabase()
})

const invalid = (message: string) => ({ error: 'Invalid input', message })
const TOO_LARGE = { error: 'Payload too large', message: `The request body must not exceed ${LIMIT} bytes.` }

// ---------------------------------------------------------------- body size

describe('request body size (BODY_LIMIT_BYTES, 1 MiB by default)', () => {
  /** A JSON body of exactly `bytes` bytes. */
  const bodyOf = (bytes: number) => {
    const frame = '{"name":""}'
    return `{"name":"${'x'.repeat(bytes - frame.length)}"}`
  }

  test('exactly the limit is read and validated; one byte more → 413', async () => {
    const atLimit = await call('POST', '/categories', { as: users.manager, body: bodyOf(LIMIT), headers: { 'content-length': String(LIMIT) } })
    expect(atLimit.status).toBe(400)
    expect(atLimit.body).toEqual(invalid('Category name must be at most 100 characters long.'))

    const over = await call('POST', '/categories', { as: users.manager, body: bodyOf(LIMIT + 1) })
    expect(over.status).toBe(413)
    expect(over.body).toEqual(TOO_LARGE)
  })

  test('a streamed body (no Content-Length) is refused once it passes the limit; the rest is drained (bounded), never buffered', async () => {
    let pulled = 0
    const chunk = new TextEncoder().encode('x'.repeat(64 * 1024))
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        // 100 MiB on offer: past the first MiB the app only drains, at most DRAIN_MAX_BYTES, and stops.
        if (pulled++ < 1600) controller.enqueue(chunk)
        else controller.close()
      },
    })
    const response = await app.handle(
      new Request('http://localhost/categories', { method: 'POST', headers: { 'content-type': 'application/json' }, body }),
    )
    expect(response.status).toBe(413)
    expect(await response.json()).toEqual(TOO_LARGE)
    expect(pulled).toBeLessThan((LIMIT + DRAIN_MAX_BYTES) / chunk.length + 4)
  })
})

// ---------------------------------------------------------------- string lengths, arrays, numbers

describe('every request field is bounded', () => {
  test('every string has a maximum length (or an enum or a bounded pattern), every array maxItems, every number a maximum', () => {
    const unbounded: string[] = []
    const walk = (node: any, where: string) => {
      if (!node || typeof node !== 'object') return
      if (node.type === 'string' && node.maxLength === undefined && !node.enum && !/^\^[^*+]*\$$/.test(node.pattern ?? '')) unbounded.push(where)
      if (node.type === 'array' && node.maxItems === undefined) unbounded.push(where)
      if ((node.type === 'integer' || node.type === 'number') && node.maximum === undefined) unbounded.push(where)
      for (const [key, child] of Object.entries(node)) if (key !== 'example') walk(child, `${where}.${key}`)
    }
    let checked = 0
    for (const route of app.routes) {
      for (const part of ['body', 'query', 'params', 'headers'] as const) {
        const schema = (route.hooks as Record<string, unknown>)[part]
        if (!(schema instanceof z.ZodType)) continue
        checked++
        walk(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }), `${route.method} ${route.path} ${part}`)
      }
    }
    expect(checked).toBeGreaterThan(20)
    expect(unbounded).toEqual([])
  })

  type Case = [field: string, max: number, message: string, send: (value: string) => Promise<{ status: number; body: unknown }>]
  const cases = (): Case[] => [
    ['POST /users username', 50, 'Username must be at most 50 characters long.', (v) => call('POST', '/users', { body: { username: v, password: 'long-enough-1' } })],
    ['POST /users password', 128, 'Password must be at most 128 characters long.', (v) => call('POST', '/users', { body: { username: 'alice', password: v } })],
    ['PUT /users/{id} password', 128, 'Password must be at most 128 characters long.', (v) => call('PUT', `/users/${users.customer.id}`, { as: users.admin, body: { password: v } })],
    ['POST /login username', 50, 'Username must be at most 50 characters long.', (v) => call('POST', '/login', { body: { username: v, password: 'x' } })],
    ['POST /login password', 128, 'Password must be at most 128 characters long.', (v) => call('POST', '/login', { body: { username: 'admin', password: v } })],
    ['POST /categories name', 100, 'Category name must be at most 100 characters long.', (v) => call('POST', '/categories', { as: users.manager, body: { name: v } })],
    ['POST /categories description', 2000, 'Category description must be at most 2000 characters long.', (v) => call('POST', '/categories', { as: users.manager, body: { name: 'Tools', description: v } })],
    ['POST /products name', 200, 'Product name must be at most 200 characters long.', (v) => call('POST', '/products', { as: users.manager, body: { name: v, price: 1, stock: 1 } })],
    ['POST /products description', 2000, 'Product description must be at most 2000 characters long.', (v) => call('POST', '/products', { as: users.manager, body: { name: 'Drill', description: v, price: 1, stock: 1 } })],
    ['GET /products q', 200, 'Query parameter q must be at most 200 characters long.', (v) => call('GET', `/products?q=${v}`, { as: users.customer })],
    ['POST /orders Idempotency-Key', 255, 'Idempotency-Key header must be at most 255 characters long.', async (v) => {
      const product = await insertProduct({ stock: 5 })
      return call('POST', '/orders', { as: users.customer, body: { product_id: product, quantity: 1 }, headers: { 'idempotency-key': v } })
    }],
  ]

  test.each(cases().map(([field, max, message]) => [field, max, message] as const))('%s: %d characters pass, one more → 400', async (field, max, message) => {
    const send = cases().find(([name]) => name === field)![3]
    const atMax = await send('a'.repeat(max))
    expect(atMax.status).not.toBe(400)
    expect(atMax.status).toBeLessThan(500)
    const over = await send('a'.repeat(max + 1))
    expect(over.status).toBe(400)
    expect(over.body).toEqual(invalid(message))
  })

  test('an X-Request-Id over 128 characters is not echoed (a fresh id is generated instead)', async () => {
    expect((await call('GET', '/health', { headers: { 'x-request-id': 'r'.repeat(128) } })).headers.get('x-request-id')).toBe('r'.repeat(128))
    expect((await call('GET', '/health', { headers: { 'x-request-id': 'r'.repeat(129) } })).headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
  })

  test('category_ids: 50 pass, 51 → 400 and nothing is written (create and update)', async () => {
    const ids = (await query<{ id: number }>("INSERT INTO categories (name) SELECT 'C' || n FROM generate_series(1, 51) n RETURNING id")).map((row) => row.id)
    const created = await call('POST', '/products', { as: users.manager, body: { name: 'Drill', price: 1, stock: 1, category_ids: ids.slice(0, 50) } })
    expect(created.status).toBe(201)
    expect(created.body.categories).toHaveLength(50)
    const tooMany = invalid('Category IDs must contain at most 50 items.')
    const over = await call('POST', '/products', { as: users.manager, body: { name: 'Saw', price: 1, stock: 1, category_ids: ids } })
    expect(over.status).toBe(400)
    expect(over.body).toEqual(tooMany)
    const update = await call('PUT', `/products/${created.body.id}`, { as: users.manager, body: { category_ids: ids } })
    expect(update.status).toBe(400)
    expect(update.body).toEqual(tooMany)
    expect(await query('SELECT count(*)::int AS n FROM product_categories')).toEqual([{ n: 50 }])
    expect(await query('SELECT count(*)::int AS n FROM products')).toEqual([{ n: 1 }])
  })

  test('order quantity: 10000 passes, 10001 → 400 and the stock is untouched', async () => {
    const product = await insertProduct({ stock: 20_000 })
    const over = await call('POST', '/orders', { as: users.customer, body: { product_id: product, quantity: 10_001 } })
    expect(over.status).toBe(400)
    expect(over.body).toEqual(invalid('Order quantity must be at most 10000.'))
    const atMax = await call('POST', '/orders', { as: users.customer, body: { product_id: product, quantity: 10_000 } })
    expect(atMax.status).toBe(201)
    expect(await query('SELECT stock_quantity FROM products')).toEqual([{ stock_quantity: 10_000 }])
  })

  test.each(['/users', '/categories', '/products', '/orders', '/alerts', '/products/1/stock-movements'])(
    'GET %s: limit 1-100 (default 20); 0 and 101 → 400',
    async (path) => {
      await insertProduct({ stock: 1 })
      await insertCategory('Tools')
      expect((await call('GET', path, { as: users.admin })).body.limit).toBe(20)
      const atMax = await call('GET', `${path}?limit=100`, { as: users.admin })
      expect(atMax.status).toBe(200)
      expect(atMax.body.limit).toBe(100)
      for (const limit of ['0', '101']) {
        const response = await call('GET', `${path}?limit=${limit}`, { as: users.admin })
        expect(response.status).toBe(400)
        expect(response.body).toEqual(invalid('Query parameter limit must be an integer between 1 and 100.'))
      }
    },
  )
})

// ---------------------------------------------------------------- headers on every response

describe('security headers', () => {
  test('every API response: nosniff, no-store, no-referrer, and no framework banner', async () => {
    const product = await insertProduct()
    const responses = [
      await call('GET', '/health'),
      await call('GET', '/products'),
      await call('GET', `/products/${product}`, { as: users.customer }),
      await call('GET', '/nope'),
      await call('POST', '/login', { as: users.customer }),
      await call('GET', '/swagger/json'),
    ]
    for (const response of responses) {
      expect(response.headers.get('x-content-type-options')).toBe('nosniff')
      expect(response.headers.get('cache-control')).toBe('no-store')
      expect(response.headers.get('referrer-policy')).toBe('no-referrer')
      expect(response.headers.get('x-powered-by')).toBeNull()
      expect(response.headers.get('server')).toBeNull()
    }
  })

  test('Swagger UI keeps its own caching: the page revalidates, the versioned assets are immutable', async () => {
    const page = await call('GET', '/swagger')
    expect(page.status).toBe(200)
    expect(page.headers.get('cache-control')).toBe('no-cache')
    expect(page.text).toContain('swagger-ui-bundle.js')
    const asset = await app.handle(new Request('http://localhost/swagger/assets/swagger-ui.css'))
    expect(asset.status).toBe(200)
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    expect(asset.headers.get('x-content-type-options')).toBe('nosniff')
  })
})

// ---------------------------------------------------------------- configuration

describe('REQUEST_TIMEOUT_SECONDS', () => {
  const parse = (env: Record<string, string>) => configSchema.safeParse(env)

  test('defaults to 30 s; 0 (no timeout) to 255 (Bun\'s maximum) are accepted', () => {
    expect(parse({}).data?.REQUEST_TIMEOUT_SECONDS).toBe(30)
    expect(parse({ REQUEST_TIMEOUT_SECONDS: '0' }).success).toBe(true)
    expect(parse({ REQUEST_TIMEOUT_SECONDS: '255' }).success).toBe(true)
    expect(parse({ REQUEST_TIMEOUT_SECONDS: '256' }).error?.issues[0]?.path).toEqual(['REQUEST_TIMEOUT_SECONDS'])
  })

  test('must exceed the pool wait plus the statement timeout, so a slow query answers its JSON 500 before the cut', () => {
    const result = parse({ REQUEST_TIMEOUT_SECONDS: '20', DATABASE_POOL_TIMEOUT_MS: '5000', DATABASE_STATEMENT_TIMEOUT_MS: '15000' })
    expect(result.error?.issues.map(({ path, message }) => ({ path, message }))).toEqual([
      { path: ['REQUEST_TIMEOUT_SECONDS'], message: 'must be more than DATABASE_POOL_TIMEOUT_MS + DATABASE_STATEMENT_TIMEOUT_MS (20 s), or 0' },
    ])
    expect(parse({ REQUEST_TIMEOUT_SECONDS: '21', DATABASE_POOL_TIMEOUT_MS: '5000', DATABASE_STATEMENT_TIMEOUT_MS: '15000' }).success).toBe(true)
    // Without a statement timeout there is nothing to order against.
    expect(parse({ REQUEST_TIMEOUT_SECONDS: '1', DATABASE_STATEMENT_TIMEOUT_MS: '0' }).success).toBe(true)
  })
})

// ---------------------------------------------------------------- over real sockets

interface RawResponse {
  text: string
  /** Milliseconds from the last byte sent to the connection closing. */
  closedAfter: number
}

/**
 * Sends raw bytes and collects what comes back until the server closes the connection, `complete`
 * says the answer is all there (then the client hangs up), or `giveUpMs` passes.
 */
function rawRequest(
  port: number,
  head: string,
  options: { body?: () => Iterable<string>; complete?: (text: string) => boolean; giveUpMs?: number } = {},
): Promise<RawResponse> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    let text = ''
    let lastSent = Date.now()
    const done = () => resolve({ text, closedAfter: Date.now() - lastSent })
    const timer = setTimeout(() => socket.destroy(), options.giveUpMs ?? 10_000)
    socket.on('data', (data) => {
      text += data.toString('latin1')
      if (options.complete?.(text)) socket.destroy()
    })
    socket.on('close', () => {
      clearTimeout(timer)
      done()
    })
    socket.on('error', () => {})
    socket.write(head, () => (lastSent = Date.now()))
    if (options.body) {
      const chunks = options.body()[Symbol.iterator]()
      const pump = () => {
        for (let next = chunks.next(); !next.done; next = chunks.next()) {
          if (socket.destroyed) return
          if (!socket.write(next.value, () => (lastSent = Date.now()))) return void socket.once('drain', pump)
        }
      }
      pump()
    }
  })
}

const statusLine = (raw: RawResponse) => raw.text.split('\r\n')[0]
const headerOf = (raw: RawResponse, name: string) =>
  raw.text
    .split('\r\n\r\n')[0]!
    .split('\r\n')
    .find((line) => line.toLowerCase().startsWith(`${name}:`))
    ?.slice(name.length + 1)
    .trim()
const bodyOf = (raw: RawResponse) => raw.text.slice(raw.text.indexOf('\r\n\r\n') + 4)

/** The server as `bun run start` runs it (src/index.ts), on the test database, with a 1-second request timeout. */
async function startServer() {
  const child = Bun.spawn([process.execPath, join(root, 'src/index.ts')], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      DATABASE_URL: process.env.DATABASE_URL,
      DATABASE_POOL_SIZE: '2',
      DATABASE_POOL_TIMEOUT_MS: '200',
      DATABASE_STATEMENT_TIMEOUT_MS: '500',
      MIGRATIONS_RUN: 'false',
      JWT_SECRET: 'limits-test-secret-that-is-at-least-32-bytes',
      ADMIN_USERNAME: 'limits-admin',
      ADMIN_PASSWORD: 'limits-admin-password',
      PASSWORD_MEMORY_KIB: '256',
      PASSWORD_TIME_COST: '1',
      REQUEST_TIMEOUT_SECONDS: '1',
    },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const decoder = new TextDecoder()
  let output = ''
  const reader = child.stdout.getReader()
  const deadline = Date.now() + 20_000
  while (Date.now() < deadline) {
    const { value, done } = await reader.read()
    if (done) break
    output += decoder.decode(value)
    const port = output.match(/"msg":"listening","url":"http:\/\/[^"]*:(\d+)"/)?.[1]
    if (port) {
      reader.releaseLock()
      return { port: Number(port), child }
    }
  }
  child.kill()
  throw new Error(`the server did not start: ${output}${await new Response(child.stderr).text()}`)
}

describe('over a real socket, against the server as src/index.ts starts it', () => {
  let server: Awaited<ReturnType<typeof startServer>>
  beforeAll(async () => {
    server = await startServer()
  }, 30_000)
  afterAll(async () => {
    // SIGTERM lets in-flight requests finish; a connection a test left open must not hold the suite.
    server?.child.kill('SIGTERM')
    const stopped = await Promise.race([server?.child.exited.then(() => true), Bun.sleep(5000).then(() => false)])
    if (!stopped) server?.child.kill('SIGKILL')
    await server?.child.exited
  }, 15_000)

  test('no framework banner; the security headers are on the wire', async () => {
    const response = await fetch(`http://127.0.0.1:${server.port}/health`)
    expect(response.status).toBe(200)
    expect(response.headers.get('server')).toBeNull()
    expect(response.headers.get('x-powered-by')).toBeNull()
    expect(response.headers.get('x-content-type-options')).toBe('nosniff')
    expect(response.headers.get('cache-control')).toBe('no-store')
    expect(response.headers.get('referrer-policy')).toBe('no-referrer')
  })

  test('a header block over 16 KiB is refused by Bun itself: 431 with no body (no app code runs, so no JSON)', async () => {
    const raw = await rawRequest(server.port, `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`)
    expect(raw.text).toBe('HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n')
  })

  test('so do about 200 header fields, whatever their size', async () => {
    const fields = Array.from({ length: 250 }, (_, i) => `X-H${i}: v\r\n`).join('')
    const raw = await rawRequest(server.port, `GET /health HTTP/1.1\r\nHost: x\r\n${fields}\r\n`)
    expect(statusLine(raw)).toBe('HTTP/1.1 431 Request Header Fields Too Large')
    expect(bodyOf(raw)).toBe('')
  })

  test('below that, even a 12 KiB Authorization header reaches the app and gets its JSON answer', async () => {
    const raw = await rawRequest(server.port, `GET /products HTTP/1.1\r\nHost: x\r\nAuthorization: Basic ${'A'.repeat(12 * 1024)}\r\nConnection: close\r\n\r\n`)
    expect(statusLine(raw)).toBe('HTTP/1.1 401 Unauthorized')
    expect(JSON.parse(bodyOf(raw))).toEqual({ error: 'Unauthorized', message: 'The Authorization header is malformed.' })
  })

  // Bun's own cut (maxRequestBodySize) would answer first with an empty 413: it is out of the way.
  test('a body of any declared size gets the JSON 413 as soon as the headers arrive, while the client is still sending', async () => {
    const size = 64 * 1024 * 1024
    const chunk = 'x'.repeat(256 * 1024)
    const raw = await rawRequest(server.port, `POST /categories HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${size}\r\n\r\n`, {
      body: function* () {
        for (let sent = 0; sent < size; sent += chunk.length) yield chunk
      },
      complete: (text) => text.includes('"message"'),
    })
    expect(statusLine(raw)).toBe('HTTP/1.1 413 Payload Too Large')
    expect(JSON.parse(bodyOf(raw))).toEqual(TOO_LARGE)
  })

  test('a client that writes its whole 3 MB body before reading gets the JSON 413 too (was a reset: the body is drained first)', async () => {
    const size = 3 * 1024 * 1024
    for (let attempt = 0; attempt < 5; attempt++) {
      const head = `POST /categories HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${size}\r\nConnection: close\r\n\r\n`
      const reply = await new Promise<{ error?: string; text: string }>((resolve) => {
        const socket = connect(server.port, '127.0.0.1')
        let text = ''
        let error: string | undefined
        socket.on('error', (failure: NodeJS.ErrnoException) => (error ??= failure.code))
        socket.on('close', () => resolve({ error, text }))
        // As Python's urllib: the headers, then the body in one piece, and only then reading.
        socket.write(head)
        const readAfterWriting = () =>
          socket.on('data', (data) => {
            text += data.toString('latin1')
            if (text.includes('"}')) socket.end()
          })
        void Bun.sleep(50).then(() => socket.write(Buffer.alloc(size, 'x'), readAfterWriting))
      })
      expect(reply.error).toBeUndefined()
      expect(reply.text.split('\r\n')[0]).toBe('HTTP/1.1 413 Payload Too Large')
      expect(JSON.parse(reply.text.slice(reply.text.indexOf('\r\n\r\n') + 4))).toEqual(TOO_LARGE)
    }
  })

  test('a chunked body without Content-Length gets the JSON 413 once it passes the limit', async () => {
    const chunk = 'x'.repeat(256 * 1024)
    const raw = await rawRequest(server.port, `POST /categories HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`, {
      body: function* () {
        for (let i = 0; i < 64; i++) yield `${chunk.length.toString(16)}\r\n${chunk}\r\n`
        yield '0\r\n\r\n'
      },
      complete: (text) => text.includes('"message"'),
    })
    expect(statusLine(raw)).toBe('HTTP/1.1 413 Payload Too Large')
    const body = bodyOf(raw)
    // Bun may frame the answer in chunks.
    expect(body.includes(JSON.stringify(TOO_LARGE))).toBe(true)
  })

  test('REQUEST_TIMEOUT_SECONDS: a silent connection is closed after it (Bun checks every 4 s or so)', async () => {
    const raw = await rawRequest(server.port, 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n')
    expect(statusLine(raw)).toBe('HTTP/1.1 200 OK')
    // Only an upper bound: Bun's idle check runs on a coarse timer wheel, so a 1 s timeout may cut a
    // connection silent for less than 1 s (seen: 252 ms on a loaded machine), never one that is busy.
    expect(raw.closedAfter).toBeLessThan(9000)
  }, 15_000)
})

// ---------------------------------------------------------------- nginx in front (compose)

const nginx = Bun.which('nginx') ?? (Bun.file('/usr/sbin/nginx').size > 0 ? '/usr/sbin/nginx' : null)

describe.skipIf(!nginx)('behind deploy/nginx.conf (when nginx is installed)', () => {
  let dir: string
  let proxy: ReturnType<typeof Bun.spawn>
  let upstream: ReturnType<typeof Bun.serve>
  let port: number

  /** A free port, found by binding one and letting it go. */
  const freePort = () => {
    const probe = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response() })
    const found = probe.port!
    probe.stop(true)
    return found
  }

  async function startProxy(upstreamPort: number) {
    const site = (await Bun.file(join(root, 'deploy/nginx.conf')).text())
      .replace(/^\s*resolver .*$/m, '')
      .replace('http://api:3000', `http://127.0.0.1:${upstreamPort}`)
      .replace(/listen 80;/, `listen 127.0.0.1:${port};`)
    const temp = (name: string) => `${name}_temp_path ${dir}/tmp;`
    writeFileSync(
      join(dir, 'nginx.conf'),
      `pid ${dir}/nginx.pid; error_log ${dir}/error.log; events { worker_connections 64; }
       http { access_log off; ${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(temp).join(' ')}
       ${site} }`,
    )
    proxy = Bun.spawn([nginx!, '-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdout: 'ignore', stderr: 'pipe' })
    for (let waited = 0; waited < 5000; waited += 50) {
      const up = await fetch(`http://127.0.0.1:${port}/`).then(() => true, () => false)
      if (up) return
      await Bun.sleep(50)
    }
    throw new Error(`nginx did not start: ${await new Response(proxy.stderr as ReadableStream).text()}`)
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'limits-nginx-'))
    Bun.spawnSync(['mkdir', '-p', join(dir, 'tmp')])
    // Stands in for the API: another Bun server, so Bun's own header limits apply behind the proxy.
    upstream = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      fetch: (request) =>
        new URL(request.url).pathname === '/health/ready'
          ? Response.json({ error: 'Service Unavailable', message: 'The database is not reachable.' }, { status: 503 })
          : Response.json({ error: 'Not Found', message: 'No such route.' }, { status: 404 }),
    })
    port = freePort()
    await startProxy(upstream.port!)
  }, 30_000)

  afterAll(async () => {
    proxy?.kill()
    await proxy?.exited
    upstream?.stop(true)
    rmSync(dir, { recursive: true, force: true })
  }, 15_000)

  const HEADERS_TOO_LARGE = { error: 'Request header fields too large', message: 'The request headers are too large.' }

  test('a header line over 8 KiB (nginx\'s own limit) → JSON 431', async () => {
    const raw = await rawRequest(port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(9 * 1024)}\r\n\r\n`)
    expect(statusLine(raw)).toMatch(/^HTTP\/1\.1 431\b/)
    expect(headerOf(raw, 'content-type')).toBe('application/json')
    expect(JSON.parse(bodyOf(raw))).toEqual(HEADERS_TOO_LARGE)
  })

  test('a header block nginx passes but Bun refuses (3 × 7 KiB) → the same JSON 431 instead of Bun\'s empty one', async () => {
    const fields = [0, 1, 2].map((i) => `X-B${i}: ${'a'.repeat(7 * 1024)}\r\n`).join('')
    const raw = await rawRequest(port, `GET / HTTP/1.1\r\nHost: x\r\n${fields}Connection: close\r\n\r\n`)
    expect(statusLine(raw)).toMatch(/^HTTP\/1\.1 431\b/)
    expect(JSON.parse(bodyOf(raw))).toEqual(HEADERS_TOO_LARGE)
  })

  test("the API's own errors pass unchanged, its JSON 503 from readiness included", async () => {
    const notFound = await fetch(`http://127.0.0.1:${port}/nope`)
    expect(notFound.status).toBe(404)
    expect(await notFound.json()).toEqual({ error: 'Not Found', message: 'No such route.' })
    const ready = await fetch(`http://127.0.0.1:${port}/health/ready`)
    expect(ready.status).toBe(503)
    expect(await ready.json()).toEqual({ error: 'Service Unavailable', message: 'The database is not reachable.' })
  })

  test('no replica reachable → nginx\'s JSON 503', async () => {
    upstream.stop(true)
    const response = await fetch(`http://127.0.0.1:${port}/products`)
    expect(response.status).toBe(503)
    expect(await response.json()).toEqual({ error: 'Service Unavailable', message: 'The API is not reachable, please try again later.' })
  })
})
