import { beforeEach, describe, expect, spyOn, test } from 'bun:test'
import { SignJWT } from 'jose'
import { call, resetDatabase, tokenFor, type Seeded } from '../support/helpers'

let users: Seeded
beforeEach(async () => {
  users = await resetDatabase()
})

const CHALLENGE = 'Basic realm="inventory", charset="UTF-8", Bearer realm="inventory"'
const SECRET = new TextEncoder().encode(process.env.JWT_SECRET)
const basicHeader = (raw: string | Uint8Array) => `Basic ${Buffer.from(raw).toString('base64')}`

function expectUnauthorized(response: Awaited<ReturnType<typeof call>>, message: string) {
  expect(response.status).toBe(401)
  expect(response.body).toEqual({ error: 'Unauthorized', message })
  expect(response.headers.get('www-authenticate')).toBe(CHALLENGE)
}

describe('POST /login', () => {
  test('Basic credentials return a Bearer token response', async () => {
    const response = await call('POST', '/login', { as: users.customer })
    expect(response.status).toBe(200)
    expect(response.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600 })
    const [header, payload] = response.body.access_token!.split('.').slice(0, 2).map((part: string) => JSON.parse(Buffer.from(part, 'base64url').toString()))
    expect(header.alg).toBe('HS256')
    expect(payload).toMatchObject({ sub: String(users.customer.id), username: 'customer', role: 'customer', iss: 'inventory-api', aud: 'inventory-api' })
    expect(payload.exp - payload.iat).toBe(3600)
  })

  test('a JSON body is accepted too', async () => {
    const response = await call('POST', '/login', { body: { username: 'manager', password: 'manager-password' } })
    expect(response.status).toBe(200)
    expect(response.body.token_type).toBe('Bearer')
  })

  test('username matching is case-insensitive', async () => {
    const response = await call('POST', '/login', { body: { username: 'MANAGER', password: 'manager-password' } })
    expect(response.status).toBe(200)
  })

  test('no credentials → 401', async () => {
    expectUnauthorized(await call('POST', '/login'), 'Send Basic credentials or a JSON body with username and password.')
  })

  test('unknown user and wrong password give the same 401 after the same work', async () => {
    const verify = spyOn(Bun.password, 'verify')
    try {
      const wrong = await call('POST', '/login', { body: { username: 'customer', password: 'not-the-password' } })
      const verificationsForWrongPassword = verify.mock.calls.length
      const unknown = await call('POST', '/login', { body: { username: 'nobody', password: 'not-the-password' } })
      expect(verificationsForWrongPassword).toBe(1)
      expect(verify.mock.calls.length).toBe(2)
      expectUnauthorized(wrong, 'Invalid username or password.')
      expectUnauthorized(unknown, 'Invalid username or password.')
      expect(unknown.text).toBe(wrong.text)
    } finally {
      verify.mockRestore()
    }
  })
})

describe('failed-login throttle', () => {
  test('the sixth attempt after five failures is 429 with Retry-After, even with the right password', async () => {
    for (let attempt = 0; attempt < 5; attempt++) {
      const response = await call('POST', '/login', { body: { username: 'customer', password: 'wrong-password' } })
      expect(response.status).toBe(401)
    }
    const locked = await call('POST', '/login', { as: users.customer })
    expect(locked.status).toBe(429)
    expect(locked.body).toEqual({ error: 'Too many requests', message: 'Too many failed login attempts; try again later.' })
    const retryAfter = Number(locked.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThan(0)
    expect(retryAfter).toBeLessThanOrEqual(60)
  })

  test('Basic on protected routes counts and is throttled too; other users are unaffected', async () => {
    for (let attempt = 0; attempt < 5; attempt++) {
      await call('GET', `/users/${users.customer.id}`, { as: { ...users.customer, password: 'wrong-password' } })
    }
    expect((await call('GET', `/users/${users.customer.id}`, { as: users.customer })).status).toBe(429)
    expect((await call('GET', `/users/${users.other.id}`, { as: users.other })).status).toBe(200)
  })

  test('a success resets the count', async () => {
    for (let attempt = 0; attempt < 4; attempt++) {
      await call('POST', '/login', { body: { username: 'customer', password: 'wrong-password' } })
    }
    expect((await call('POST', '/login', { as: users.customer })).status).toBe(200)
    for (let attempt = 0; attempt < 4; attempt++) {
      await call('POST', '/login', { body: { username: 'customer', password: 'wrong-password' } })
    }
    expect((await call('POST', '/login', { as: users.customer })).status).toBe(200)
  })
})

describe('Basic authentication', () => {
  test('works on a protected route, scheme name case-insensitive', async () => {
    const encoded = Buffer.from('customer:customer-password').toString('base64')
    for (const scheme of ['Basic', 'basic', 'BASIC']) {
      const response = await call('GET', `/users/${users.customer.id}`, { as: { header: `${scheme} ${encoded}` } })
      expect(response.status).toBe(200)
    }
  })

  test('splits at the first colon and reads UTF-8, so passwords may contain colons and accents', async () => {
    const created = await call('POST', '/users', { body: { username: 'zoe', password: 'pä:ss:wörd' } })
    expect(created.status).toBe(201)
    const response = await call('GET', `/users/${created.body.id}`, { as: { header: basicHeader('zoe:pä:ss:wörd') } })
    expect(response.status).toBe(200)
  })

  test('wrong password → 401 with the challenge', async () => {
    expectUnauthorized(
      await call('GET', `/users/${users.customer.id}`, { as: { ...users.customer, password: 'nope-nope' } }),
      'Invalid username or password.',
    )
  })

  test.each([
    ['Basic', 'empty credentials'],
    ['Basic !!!!', 'not base64'],
    ['Basic abc', 'bad base64 length'],
    [basicHeader('no-colon-here'), 'no colon'],
    [basicHeader(':password'), 'empty username'],
    [basicHeader(new Uint8Array([0xff, 0xfe, 0x3a, 0x61])), 'not UTF-8'],
    ['Digest username="admin"', 'unknown scheme'],
    ['Bearer', 'bearer without a token'],
  ])('malformed header %p (%s) → 401', async (header) => {
    expectUnauthorized(await call('GET', `/users/${users.admin.id}`, { as: { header } }), 'The Authorization header is malformed.')
  })

  test('no header → 401 with the challenge', async () => {
    expectUnauthorized(
      await call('GET', `/users/${users.admin.id}`),
      'Authentication is required: send Basic credentials or a Bearer token.',
    )
  })
})

describe('Bearer authentication', () => {
  const sign = (claims: Record<string, unknown>, options: { alg?: string; key?: Uint8Array; exp?: number | null } = {}) => {
    let jwt = new SignJWT(claims).setProtectedHeader({ alg: options.alg ?? 'HS256', typ: 'JWT' }).setIssuedAt()
    if (options.exp !== null) jwt = jwt.setExpirationTime(options.exp ?? Math.floor(Date.now() / 1000) + 600)
    return jwt.sign(options.key ?? SECRET)
  }
  const claimsFor = (id: number, role = 'customer') => ({ sub: String(id), username: 'x', role, ver: 0, iss: 'inventory-api', aud: 'inventory-api' })
  const invalid = 'The token is invalid or has expired.'

  test('a token from /login is accepted', async () => {
    const token = await tokenFor(users.customer)
    const response = await call('GET', `/users/${users.customer.id}`, { as: { token } })
    expect(response.status).toBe(200)
    expect(response.body.username).toBe('customer')
  })

  test('a well-formed token we signed ourselves is accepted (the control for the cases below)', async () => {
    const token = await sign(claimsFor(users.customer.id))
    expect((await call('GET', `/users/${users.customer.id}`, { as: { token } })).status).toBe(200)
  })

  test('a changed payload breaks the signature → 401', async () => {
    const token = await tokenFor(users.customer)
    const [header, payload, signature] = token.split('.')
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString())
    const forged = Buffer.from(JSON.stringify({ ...claims, sub: String(users.admin.id), role: 'admin' })).toString('base64url')
    expectUnauthorized(await call('GET', '/users', { as: { token: `${header}.${forged}.${signature}` } }), invalid)
  })

  test('alg "none" → 401', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')
    const now = Math.floor(Date.now() / 1000)
    const payload = Buffer.from(JSON.stringify({ ...claimsFor(users.admin.id, 'admin'), iat: now, exp: now + 600 })).toString('base64url')
    expectUnauthorized(await call('GET', '/users', { as: { token: `${header}.${payload}.` } }), invalid)
  })

  test('another algorithm with the right key (HS512) → 401', async () => {
    const token = await sign(claimsFor(users.admin.id, 'admin'), { alg: 'HS512' })
    expectUnauthorized(await call('GET', '/users', { as: { token } }), invalid)
  })

  test('the wrong key → 401', async () => {
    const token = await sign(claimsFor(users.admin.id, 'admin'), { key: new TextEncoder().encode('another-secret-of-at-least-32-bytes!!') })
    expectUnauthorized(await call('GET', '/users', { as: { token } }), invalid)
  })

  test('expired → 401', async () => {
    const token = await sign(claimsFor(users.customer.id), { exp: Math.floor(Date.now() / 1000) - 10 })
    expectUnauthorized(await call('GET', `/users/${users.customer.id}`, { as: { token } }), invalid)
  })

  test('missing exp → 401', async () => {
    const token = await sign(claimsFor(users.customer.id), { exp: null })
    expectUnauthorized(await call('GET', `/users/${users.customer.id}`, { as: { token } }), invalid)
  })

  test('wrong issuer or audience → 401', async () => {
    for (const override of [{ iss: 'someone-else' }, { aud: 'someone-else' }]) {
      const token = await sign({ ...claimsFor(users.customer.id), ...override })
      expectUnauthorized(await call('GET', `/users/${users.customer.id}`, { as: { token } }), invalid)
    }
  })

  test('a token for a user that does not exist → 401', async () => {
    const token = await sign(claimsFor(999_999))
    expectUnauthorized(await call('GET', '/users/999999', { as: { token } }), invalid)
  })

  test('the role comes from the database, not from the token', async () => {
    const token = await sign(claimsFor(users.customer.id, 'admin'))
    const response = await call('GET', '/users', { as: { token } })
    expect(response.status).toBe(403)
  })

  test('a token in the query string is never accepted', async () => {
    const token = await tokenFor(users.admin)
    for (const name of ['access_token', 'token', 'jwt']) {
      expectUnauthorized(
        await call('GET', `/users?${name}=${token}`),
        'Authentication is required: send Basic credentials or a Bearer token.',
      )
    }
  })

  test('garbage token → 401', async () => {
    expectUnauthorized(await call('GET', '/users', { as: { token: 'not.a.jwt' } }), invalid)
  })
})
