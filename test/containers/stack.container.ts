/**
 * The compose stack as built and started by `.ci/containers.sh` (the project's Dockerfile and
 * compose.yaml, API_REPLICAS=2): a walk-through through the nginx proxy with the exact bodies a
 * client sees, then what the containers themselves must do — run as non-root, carry no type
 * packages, keep health probes out of the info log, stop on SIGTERM within their grace period.
 *
 * Not part of `bun test`: run by `bun run test:containers` with the stack up, given by
 * STACK_URL (the proxy), STACK_PROJECT (the compose project) and STACK_ADMIN_PASSWORD.
 */
import { beforeAll, describe, expect, test } from 'bun:test'

const { STACK_URL, STACK_PROJECT, STACK_ADMIN_PASSWORD } = process.env
if (!STACK_URL || !STACK_PROJECT || !STACK_ADMIN_PASSWORD) throw new Error('set STACK_URL, STACK_PROJECT and STACK_ADMIN_PASSWORD (see .ci/containers.sh)')

/** Runs the docker CLI; its stdout, trimmed, or an error with its stderr. */
function docker(...args: string[]): string {
  const result = Bun.spawnSync(['docker', ...args], { stdout: 'pipe', stderr: 'pipe' })
  if (result.exitCode !== 0) throw new Error(`docker ${args.join(' ')}: ${result.stderr.toString()}`)
  return result.stdout.toString().trim()
}

/** The containers of one compose service of the stack, oldest first. */
const containersOf = (service: string) =>
  docker('ps', '-a', '--filter', `label=com.docker.compose.project=${STACK_PROJECT}`, '--filter', `label=com.docker.compose.service=${service}`, '--format', '{{.Names}}')
    .split('\n')
    .filter(Boolean)
    .sort()

const inspect = (container: string, format: string) => docker('inspect', '--format', format, container)
/** Everything a container wrote to stdout and stderr. */
const logsOf = (container: string) => {
  const result = Bun.spawnSync(['docker', 'logs', container], { stdout: 'pipe', stderr: 'pipe' })
  return result.stdout.toString() + result.stderr.toString()
}

const basic = (username: string, password: string) => `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`
const ADMIN = basic('admin', STACK_ADMIN_PASSWORD)
const RUN = `walk-${Date.now()}`

async function send(method: string, path: string, options: { auth?: string; body?: unknown; requestId?: string } = {}) {
  const headers: Record<string, string> = { 'x-request-id': options.requestId ?? `${RUN}-${method}-${path.replaceAll('/', '_')}` }
  if (options.auth) headers.authorization = options.auth
  if (options.body !== undefined) headers['content-type'] = 'application/json'
  const response = await fetch(`${STACK_URL}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: AbortSignal.timeout(10_000),
  })
  const text = await response.text()
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined }
}

let apis: string[]
beforeAll(() => {
  apis = containersOf('api')
})

describe('the stack is up', () => {
  test('db, migrate (exited 0), two healthy API replicas and the proxy', () => {
    expect(containersOf('db').map((name) => inspect(name, '{{.State.Health.Status}}'))).toEqual(['healthy'])
    expect(containersOf('migrate').map((name) => inspect(name, '{{.State.Status}} {{.State.ExitCode}}'))).toEqual(['exited 0'])
    expect(apis.map((name) => inspect(name, '{{.State.Health.Status}}'))).toEqual(['healthy', 'healthy'])
    expect(containersOf('proxy').map((name) => inspect(name, '{{.State.Status}}'))).toEqual(['running'])
  })

  test('migrate and api run the one image the build produced', () => {
    const images = [...containersOf('migrate'), ...apis].map((name) => inspect(name, '{{.Image}}'))
    expect(new Set(images).size).toBe(1)
  })
})

describe('a walk-through through the proxy', () => {
  const customer = { username: `alice-${Date.now()}`, password: 'correct-horse-battery' }
  let token = ''
  let productId = 0

  test('register a customer (201), and again (409)', async () => {
    const created = await send('POST', '/users', { body: customer })
    expect(created.status).toBe(201)
    expect(created.body).toEqual({ id: expect.any(Number), username: customer.username, role: 'customer', created_at: expect.any(String) })
    const again = await send('POST', '/users', { body: customer })
    expect({ status: again.status, body: again.body }).toEqual({ status: 409, body: { error: 'Conflict', message: 'The username is already taken.' } })
  })

  test('log in (a Bearer token); a wrong password and no credentials are 401', async () => {
    const login = await send('POST', '/login', { auth: basic(customer.username, customer.password) })
    expect(login.status).toBe(200)
    expect(login.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600 })
    token = login.body.access_token
    const wrong = await send('POST', '/login', { auth: basic(customer.username, 'not-the-password') })
    expect({ status: wrong.status, body: wrong.body }).toEqual({ status: 401, body: { error: 'Unauthorized', message: 'Invalid username or password.' } })
    const anonymous = await send('GET', '/products')
    expect({ status: anonymous.status, body: anonymous.body }).toEqual({
      status: 401,
      body: { error: 'Unauthorized', message: 'Authentication is required: send Basic credentials or a Bearer token.' },
    })
    expect(anonymous.headers.get('www-authenticate')).toContain('Basic realm="inventory"')
  })

  test('the admin adds a product; the customer orders from it; the stock follows', async () => {
    const product = await send('POST', '/products', { auth: ADMIN, body: { name: `Desk lamp ${RUN}`, price: 24.9, stock: 12 } })
    expect(product.status).toBe(201)
    expect(product.body).toMatchObject({ name: `Desk lamp ${RUN}`, price: 24.9, stock: 12 })
    productId = product.body.id
    const order = await send('POST', '/orders', { auth: `Bearer ${token}`, body: { product_id: productId, quantity: 3 } })
    expect(order.status).toBe(201)
    expect(order.body).toMatchObject({ product_id: productId, quantity: 3, status: 'Pending' })
    const after = await send('GET', `/products/${productId}`, { auth: `Bearer ${token}` })
    expect(after.body.stock).toBe(9)
  })

  test('a missing order and a missing product are 404 with their bodies', async () => {
    const order = await send('GET', '/orders/999999', { auth: ADMIN })
    expect({ status: order.status, body: order.body }).toEqual({ status: 404, body: { error: 'Order not found', message: 'The order with ID 999999 does not exist.' } })
    const product = await send('POST', '/orders', { auth: `Bearer ${token}`, body: { product_id: 999999, quantity: 1 } })
    expect({ status: product.status, body: product.body }).toEqual({
      status: 404,
      body: { error: 'Product not found', message: 'The product with ID 999999 does not exist.' },
    })
  })

  test('the proxy spread the requests over both replicas', () => {
    for (const api of apis) expect(logsOf(api), api).toContain(`"request_id":"${RUN}-`)
  })
})

describe('the containers', () => {
  test('the API runs as the non-root user bun', () => {
    for (const api of apis) {
      expect(inspect(api, '{{.Config.User}}')).toBe('bun')
      expect(docker('exec', api, 'id', '-u')).not.toBe('0')
    }
  })

  test('the image carries no typescript and no type packages', () => {
    const modules = docker('exec', apis[0]!, 'ls', 'node_modules').split('\n')
    expect(modules).toContain('elysia')
    expect(modules.filter((name) => ['typescript', '@types', 'bun-types', 'undici-types'].includes(name))).toEqual([])
  })

  test('health probes ran, and none wrote an info line', () => {
    for (const api of apis) {
      // The engine's own record of the HEALTHCHECK runs (every 10 s).
      expect(Number(inspect(api, '{{len .State.Health.Log}}')), api).toBeGreaterThan(0)
      const requestLines = logsOf(api)
        .split('\n')
        .filter((line) => line.includes('"msg":"request"'))
      expect(requestLines.length, api).toBeGreaterThan(0)
      expect(requestLines.filter((line) => line.includes('"path":"/health')), api).toEqual([])
    }
  })

  test('SIGTERM stops a replica within its grace period, cleanly, while the other keeps serving', async () => {
    const [stopping, remaining] = apis as [string, string]
    const graceSeconds = 30 // compose.yaml's stop_grace_period for api
    const started = performance.now()
    docker('stop', '--time', String(graceSeconds), stopping)
    const seconds = (performance.now() - started) / 1000
    console.log(`docker stop ${stopping}: ${seconds.toFixed(1)} s`)
    // 137 would be the SIGKILL that follows an ignored SIGTERM.
    expect(inspect(stopping, '{{.State.ExitCode}}')).toBe('0')
    expect(seconds).toBeLessThan(graceSeconds)
    expect(logsOf(stopping)).toContain('"msg":"shutting down","signal":"SIGTERM"')
    for (let i = 0; i < 4; i++) expect((await send('GET', '/health/ready')).status).toBe(200)
    expect(inspect(remaining, '{{.State.Status}}')).toBe('running')
  }, 60_000)
})
