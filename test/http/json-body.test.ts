/**
 * The body rules of src/http/json-body.ts that are about the JSON text itself: nesting, item
 * counts, UTF-8, and the bounds named in messages.
 */
import { beforeEach, describe, expect, test } from 'bun:test'
import { app, call, query, resetDatabase, type Seeded, type TestUser } from '../support/helpers'
import { listening } from '../support/listening'

let users: Seeded
beforeEach(async () => {
  users = await resetDatabase()
})

const invalid = (message: string) => ({ error: 'Invalid input', message })
const TOO_DEEP = invalid('The request body is nested too deeply (at most 32 levels).')
const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`

describe('deep nesting (100,000 levels answered a 500 after ~6 s, blocking the process: ValidationError serialised the value)', () => {
  test('an anonymous POST /users nesting 100,000 arrays → 400 at once', async () => {
    const started = performance.now()
    const response = await call('POST', '/users', { body: `{"username":"deep","password":"deep-password","x":${nested(100_000)}}` })
    expect(response.status).toBe(400)
    expect(response.body).toEqual(TOO_DEEP)
    expect(performance.now() - started).toBeLessThan(1000)
    expect(await query(`SELECT 1 FROM users WHERE username = 'deep'`)).toEqual([])
  })

  test('33 levels is too deep, 32 is read (and then judged by the schema); brackets inside strings do not count', async () => {
    expect((await call('POST', '/users', { body: nested(33) })).body).toEqual(TOO_DEEP)
    expect((await call('POST', '/users', { body: nested(32) })).body).toEqual(invalid('The request body must be a JSON object.'))
    const bracketsInText = { username: 'brackets', password: `${'['.repeat(100)}-password` }
    expect((await call('POST', '/users', { body: bracketsInText })).status).toBe(201)
  })

  test('more than 20,000 items (array elements and object members) → 400; a big but shallow body is read', async () => {
    const many = (n: number) => `{"username":"many","password":"many-password","x":[${Array(n).fill(0).join(',')}]}`
    expect((await call('POST', '/users', { body: many(20_001) })).body).toEqual(invalid('The request body has too many items (at most 20000).'))
    expect((await call('POST', '/users', { body: many(19_990) })).status).toBe(201)
  })

  describe('over a real socket', () => {
    const api = listening()

    test('/health answers while five such bodies arrive', async () => {
      const deep = Array.from({ length: 5 }, () =>
        fetch(`${api.url}/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: nested(100_000) }).then((response) => response.status),
      )
      const started = performance.now()
      const health = await fetch(`${api.url}/health`)
      const healthMs = performance.now() - started
      expect(health.status).toBe(200)
      expect(await Promise.all(deep)).toEqual([400, 400, 400, 400, 400])
      expect(healthMs).toBeLessThan(1000)
    })
  })
})

describe('invalid UTF-8 (was replaced by U+FFFD and stored)', () => {
  /** call() sends text; these bodies are bytes. */
  const postBytes = async (path: string, as: TestUser, body: Uint8Array) => {
    const authorization = `Basic ${Buffer.from(`${as.username}:${as.password}`).toString('base64')}`
    const response = await app.handle(new Request(`http://localhost${path}`, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body }))
    return { status: response.status, body: (await response.json()) as Record<string, unknown> }
  }

  test('a body with bytes that are not UTF-8 → 400, nothing stored', async () => {
    const bytes = Buffer.concat([Buffer.from('{"name":"caf'), Buffer.from([0xe9]), Buffer.from('"}')]) // Latin-1 é
    for (const body of [bytes, Buffer.from([0x7b, 0x22, 0x6e, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]), Buffer.from('{"name":"\xed\xa0\x80"}', 'latin1')]) {
      const response = await postBytes('/categories', users.manager, body)
      expect(response.status).toBe(400)
      expect(response.body).toEqual(invalid('The request body is not valid UTF-8.'))
    }
    expect(await query('SELECT name FROM categories')).toEqual([])
  })

  test('valid UTF-8 (with a byte order mark too) is read as sent', async () => {
    const response = await postBytes('/categories', users.manager, Buffer.from('\ufeff{"name":"Café ☕"}'))
    expect(response.status).toBe(201)
    expect(response.body.name).toBe('Café ☕')
  })
})

describe('integers past 2^53 (the message named 9007199254740991 instead of the real bound)', () => {
  test('quantity 2^53+1 → "at most 10000"', async () => {
    const response = await call('POST', '/orders', { as: users.customer, body: '{"product_id":1,"quantity":9007199254740993}' })
    expect(response.status).toBe(400)
    expect(response.body).toEqual(invalid('Order quantity must be at most 10000.'))
  })

  test('stock 2^53+1 → "at most 1000000000"; -(2^53+1) → "at least 0"', async () => {
    const create = (stock: string) => call('POST', '/products', { as: users.manager, body: `{"name":"Big","price":1,"stock":${stock}}` })
    expect((await create('9007199254740993')).body).toEqual(invalid('Product stock must be at most 1000000000.'))
    expect((await create('-9007199254740993')).body).toEqual(invalid('Product stock must be at least 0.'))
  })
})
