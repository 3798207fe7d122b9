import { beforeEach, describe, expect, spyOn, test } from 'bun:test'
import { createApp } from '../../src/app'
import { dataSource } from '../../src/db/data-source'
import { call, resetDatabase, type Seeded } from '../support/helpers'

let users: Seeded
beforeEach(async () => {
  users = await resetDatabase()
})

const register = (body: string, contentType?: string) =>
  call('POST', '/users', { body, headers: contentType ? { 'content-type': contentType } : {} })

describe('the error contract', () => {
  test('malformed JSON → 400 Invalid input, nothing written', async () => {
    const response = await register('{"username": "alice", "password":', 'application/json')
    expect(response.status).toBe(400)
    expect(response.body).toEqual({ error: 'Invalid input', message: 'The request body is not valid JSON.' })
    expect(response.headers.get('content-type')).toStartWith('application/json')
  })

  test('a JSON value that is not an object → 400', async () => {
    const response = await register('[1, 2]', 'application/json')
    expect(response.status).toBe(400)
    expect(response.body).toEqual({ error: 'Invalid input', message: 'The request body must be a JSON object.' })
  })

  test.each(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml'])(
    'a %s body → 415 (only JSON is read, so cross-site form posts cannot act)',
    async (contentType) => {
      const response = await register('{"username":"alice","password":"long-enough"}', contentType)
      expect(response.status).toBe(415)
      expect(response.body).toEqual({
        error: 'Unsupported media type',
        message: 'The request body must be JSON (Content-Type: application/json).',
      })
    },
  )

  test('application/json with a charset and +json types are accepted', async () => {
    expect((await register('{"username":"alice","password":"long-enough"}', 'application/json; charset=utf-8')).status).toBe(201)
    expect((await register('{"username":"bob","password":"long-enough"}', 'application/vnd.api+json')).status).toBe(201)
  })

  test('a body over the limit (by Content-Length) → 413', async () => {
    const response = await register(JSON.stringify({ username: 'alice', password: 'x'.repeat(1024 * 1024 + 1) }), 'application/json')
    expect(response.status).toBe(413)
    expect(response.body).toEqual({ error: 'Payload too large', message: 'The request body must not exceed 1048576 bytes.' })
  })

  test('a streamed body over the limit (no Content-Length) → 413', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(64 * 1024))
    let sent = 0
    const body = new ReadableStream({
      pull(controller) {
        if (sent++ < 20) controller.enqueue(chunk)
        else controller.close()
      },
    })
    const app = createApp()
    const response = await app.handle(
      new Request('http://localhost/users', { method: 'POST', headers: { 'content-type': 'application/json' }, body }),
    )
    expect(response.status).toBe(413)
    expect(await response.json()).toEqual({ error: 'Payload too large', message: 'The request body must not exceed 1048576 bytes.' })
  })

  test('an unknown route → 404 Not Found', async () => {
    for (const [method, path] of [['GET', '/nope'], ['POST', '/health'], ['DELETE', '/users']]) {
      const response = await call(method!, path!, { as: users.admin })
      expect(response.status).toBe(404)
      expect(response.body).toEqual({ error: 'Not Found', message: 'No such route.' })
    }
  })

  test('an unexpected failure → the generic 500 body; the details only in the log, under the request id', async () => {
    const app = createApp().get('/explode', () => {
      throw new Error('SELECT secret FROM internals')
    })
    const logged = spyOn(console, 'error').mockImplementation(() => {})
    try {
      const response = await app.handle(new Request('http://localhost/explode', { headers: { 'x-request-id': 'req-500-test' } }))
      expect(response.status).toBe(500)
      const text = await response.text()
      expect(JSON.parse(text)).toEqual({
        error: 'Internal Server Error',
        message: 'An unexpected error occurred, please try again later.',
      })
      expect(text).not.toContain('SELECT')
      expect(response.headers.get('x-request-id')).toBe('req-500-test')
      const line = logged.mock.calls.map((args) => String(args[0])).find((entry) => entry.includes('unhandled error'))
      expect(line).toBeDefined()
      expect(JSON.parse(line!)).toMatchObject({ level: 'error', request_id: 'req-500-test', error: { message: 'SELECT secret FROM internals' } })
    } finally {
      logged.mockRestore()
    }
  })
})

describe('X-Request-Id', () => {
  test('a valid incoming id is echoed', async () => {
    const response = await call('GET', '/health', { headers: { 'x-request-id': 'abc-123.XYZ' } })
    expect(response.headers.get('x-request-id')).toBe('abc-123.XYZ')
  })

  test.each(['has spaces in it', 'x'.repeat(129), '<script>'])('an invalid one (%p) is replaced by a generated id', async (incoming) => {
    const response = await call('GET', '/health', { headers: { 'x-request-id': incoming } })
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
  })

  test('errors carry it too, and security headers are set', async () => {
    const response = await call('GET', '/nope')
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
    expect(response.headers.get('x-content-type-options')).toBe('nosniff')
  })
})

describe('health', () => {
  test('GET /health → 200', async () => {
    const response = await call('GET', '/health')
    expect(response.status).toBe(200)
    expect(response.body).toEqual({ status: 'ok' })
  })

  test('GET /health/ready → 200 while the database answers', async () => {
    const response = await call('GET', '/health/ready')
    expect(response.status).toBe(200)
    expect(response.body).toEqual({ status: 'ready' })
  })

  test('GET /health/ready → 503 in the error format when the database does not answer', async () => {
    const query = spyOn(dataSource, 'query').mockRejectedValueOnce(new Error('connect ECONNREFUSED'))
    try {
      const response = await call('GET', '/health/ready')
      expect(response.status).toBe(503)
      expect(response.body).toEqual({ error: 'Service Unavailable', message: 'The database is not reachable.' })
    } finally {
      query.mockRestore()
    }
  })
})

describe('request log', () => {
  test('one structured JSON line per request with id, method, path, status, duration and user', async () => {
    const { log } = await import('../../src/http/logger')
    const info = spyOn(log, 'info')
    try {
      await call('GET', `/users/${users.customer.id}?secret=1`, { as: users.customer, headers: { 'x-request-id': 'log-line-test' } })
      const findEntry = () => info.mock.calls.find(([msg, fields]) => msg === 'request' && fields?.request_id === 'log-line-test')
      // The line is written after the response has been handed over.
      for (let waited = 0; !findEntry() && waited < 1000; waited += 10) await Bun.sleep(10)
      const entry = findEntry()
      expect(entry?.[1]).toEqual({
        request_id: 'log-line-test',
        method: 'GET',
        path: `/users/${users.customer.id}`,
        status: 200,
        duration_ms: expect.any(Number),
        user_id: users.customer.id,
      })
    } finally {
      info.mockRestore()
    }
  })

  test('health probes (every 10 s per replica from the container engine) are logged at debug, not info', async () => {
    const { log } = await import('../../src/http/logger')
    const info = spyOn(log, 'info')
    const debug = spyOn(log, 'debug')
    try {
      for (const path of ['/health', '/health/ready']) await call('GET', path, { headers: { 'x-request-id': `probe-${path.slice(1).replace('/', '-')}` } })
      const lines = (spy: typeof info) => spy.mock.calls.filter(([msg, fields]) => msg === 'request' && String(fields?.request_id).startsWith('probe-'))
      for (let waited = 0; lines(debug).length < 2 && waited < 1000; waited += 10) await Bun.sleep(10)
      expect(lines(debug).map(([, fields]) => [fields?.path, fields?.status])).toEqual([
        ['/health', 200],
        ['/health/ready', 200],
      ])
      expect(lines(info)).toEqual([])
    } finally {
      info.mockRestore()
      debug.mockRestore()
    }
  })
})
