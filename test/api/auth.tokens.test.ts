import { beforeEach, describe, expect, test } from 'bun:test'
import { SignJWT } from 'jose'
import { call, resetDatabase, type Seeded } from '../support/helpers'

let users: Seeded
beforeEach(async () => {
  users = await resetDatabase()
})

const SECRET = new TextEncoder().encode(process.env.JWT_SECRET)
const INVALID_TOKEN = { error: 'Unauthorized', message: 'The token is invalid or has expired.' }
const now = () => Math.floor(Date.now() / 1000)

/** A token signed with the server's own key: only its claims are wrong, if anything. */
const signed = (claims: Record<string, unknown>, iat = now()) =>
  new SignJWT({ username: 'x', role: 'admin', ver: 0, iss: 'inventory-api', aud: 'inventory-api', ...claims })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt(iat)
    .setExpirationTime(now() + 600)
    .sign(SECRET)

describe('claims of a correctly signed token (a sub past 2^31-1 was a 500 from PostgreSQL; a future iat was accepted)', () => {
  test('the control: the admin id, issued now → 200', async () => {
    expect((await call('GET', '/users', { as: { token: await signed({ sub: String(users.admin.id) }) } })).status).toBe(200)
  })

  test('sub out of the id range, or not an id at all → 401', async () => {
    for (const sub of ['2147483648', '9999999999', '99999999999999999999', '0', '-1', '01', '1e3', ' 1', '1.0', 'admin']) {
      const response = await call('GET', '/users', { as: { token: await signed({ sub }) } })
      expect({ sub, status: response.status, body: response.body }).toEqual({ sub, status: 401, body: INVALID_TOKEN })
      expect(response.headers.get('www-authenticate')).toContain('Basic realm="inventory"')
    }
  })

  test('iat more than 60 s in the future → 401; within the clock leeway → accepted', async () => {
    const sub = String(users.admin.id)
    for (const ahead of [61, 3600, 365 * 86400]) {
      const response = await call('GET', '/users', { as: { token: await signed({ sub }, now() + ahead) } })
      expect({ ahead, status: response.status, body: response.body }).toEqual({ ahead, status: 401, body: INVALID_TOKEN })
    }
    expect((await call('GET', '/users', { as: { token: await signed({ sub }, now() + 30) } })).status).toBe(200)
  })
})
