import { afterAll, beforeAll, beforeEach, describe, expect, spyOn, test } from 'bun:test'
import { connect } from 'node:net'
import { config } from '../../src/config'
import { clientAddress } from '../../src/http/client-address'
import { call, query, resetDatabase, type Seeded } from '../support/helpers'
import { listening } from '../support/listening'

let users: Seeded
beforeEach(async () => {
  users = await resetDatabase()
})

const basic = (username: string, password: string) => `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`
const USERNAME_LOCKED = { error: 'Too many requests', message: 'Too many failed login attempts; try again later.' }
const ADDRESS_BUSY = { error: 'Too many requests', message: 'Too many password checks from this address; try again later.' }

const tally = (statuses: number[]) => statuses.reduce<Record<number, number>>((counts, status) => ({ ...counts, [status]: (counts[status] ?? 0) + 1 }), {})

describe('concurrent wrong passwords for one username (all passed the throttle: it was checked before the verification and counted after)', () => {
  test('100 guesses at once on POST /login: exactly LOGIN_MAX_FAILURES are verified, the rest 429 with Retry-After', async () => {
    const responses = await Promise.all(
      Array.from({ length: 100 }, (_, i) => call('POST', '/login', { body: { username: 'customer', password: `guess-${i}` } })),
    )
    expect(tally(responses.map((response) => response.status))).toEqual({ 401: 5, 429: 95 })
    for (const response of responses.filter((response) => response.status === 429)) {
      expect(response.body).toEqual(USERNAME_LOCKED)
      expect(Number(response.headers.get('retry-after'))).toBeWithin(1, 61)
    }
    // The real password is refused too until the window ends.
    expect((await call('POST', '/login', { as: users.customer })).status).toBe(429)
  })

  test('Basic guesses on a protected route share the same allowance', async () => {
    const responses = await Promise.all(
      Array.from({ length: 60 }, (_, i) => call('GET', '/products', { as: { header: basic('customer', `guess-${i}`) } })),
    )
    expect(tally(responses.map((response) => response.status))).toEqual({ 401: 5, 429: 55 })
    const [row] = await query<{ points: number }>(`SELECT points FROM login_throttle WHERE key = 'user:customer'`)
    expect(row!.points).toBeGreaterThan(5)
  })

  test('a session already verified keeps working while its username is locked by guesses', async () => {
    expect((await call('GET', '/products', { as: users.customer })).status).toBe(200)
    for (let i = 0; i < 6; i++) await call('POST', '/login', { body: { username: 'customer', password: `guess-${i}` } })
    expect((await call('POST', '/login', { body: { username: 'customer', password: 'guess-7' } })).status).toBe(429)
    expect((await call('GET', '/products', { as: users.customer })).status).toBe(200)
  })
})

describe('per client address, over a real socket (X-Forwarded-For from the trusted 127.0.0.1)', () => {
  const api = listening()

  const from = (address: string, authorization: string) =>
    fetch(`${api.url}/products`, { headers: { authorization, 'x-forwarded-for': address } }).then(async (response) => ({
      status: response.status,
      body: await response.json(),
      retryAfter: response.headers.get('retry-after'),
    }))

  test('a flood from one address: PASSWORD_CHECKS_PER_ADDRESS wait their turn (429 for the rest), another address goes ahead of them', async () => {
    // Each verification takes 20 ms, so the flood's checks queue up.
    const realVerify = Bun.password.verify.bind(Bun.password)
    const verify = spyOn(Bun.password, 'verify').mockImplementation(async (password, hash) => {
      await Bun.sleep(20)
      return realVerify(password, hash)
    })
    try {
      const finished: string[] = []
      let firstAnswer!: () => void
      const started = new Promise<void>((resolve) => (firstAnswer = resolve))
      const flood = Array.from({ length: 100 }, (_, i) =>
        from('10.0.0.1', basic(`nobody${i}`, 'wrong-password')).then((answer) => {
          finished.push(`flood ${answer.status}`)
          firstAnswer()
          return answer
        }),
      )
      await started
      const before = finished.filter((entry) => entry === 'flood 401').length
      const real = await from('10.0.0.2', basic('customer', 'customer-password'))
      finished.push('real')
      const answers = await Promise.all(flood)
      expect(real.status).toBe(200)

      const refused = answers.filter((answer) => answer.status === 429)
      const verified = answers.filter((answer) => answer.status === 401)
      expect(verified.length + refused.length).toBe(100)
      expect(verified.length).toBeGreaterThanOrEqual(config.PASSWORD_CHECKS_PER_ADDRESS)
      expect(refused.length).toBeGreaterThan(0)
      for (const answer of refused) {
        expect(answer.body).toEqual(ADDRESS_BUSY)
        expect(answer.retryAfter).toBe('1')
      }
      // The real check waited a few turns (its database queries queue with the flood's too), not for
      // the flood's whole queue: most of the flood finished after it (first-come order: 98 of 100 before it).
      const overtaken = finished.slice(0, finished.indexOf('real')).filter((entry) => entry === 'flood 401').length - before
      expect(overtaken).toBeLessThan(config.PASSWORD_CHECKS_PER_ADDRESS / 2)
    } finally {
      verify.mockRestore()
    }
  })

  test('LOGIN_ADDRESS_MAX_FAILURES (100) failures from one address in a window: its next check is 429, others are unaffected', async () => {
    for (let i = 0; i < 100; i++) expect((await from('10.0.0.3', basic(`nobody${i}`, 'wrong-password'))).status).toBe(401)
    const refused = await from('10.0.0.3', basic('customer', 'customer-password'))
    expect(refused.status).toBe(429)
    expect(refused.body).toEqual(ADDRESS_BUSY)
    expect(Number(refused.retryAfter)).toBeWithin(1, 61)
    // The username was not charged for the refused check, and another address logs in.
    expect((await from('10.0.0.4', basic('customer', 'customer-password'))).status).toBe(200)
    expect((await query(`SELECT 1 FROM login_throttle WHERE key = 'user:customer'`)).length).toBe(0)
  })
})

describe('clientAddress: the socket peer, X-Forwarded-For only from a trusted proxy', () => {
  let probe: ReturnType<typeof Bun.serve>
  beforeAll(() => {
    probe = Bun.serve({ hostname: '0.0.0.0', port: 0, fetch: (request, server) => new Response(clientAddress(request, server) ?? 'unknown') })
  })
  afterAll(() => probe.stop(true))

  /** A raw HTTP/1.1 request from a chosen loopback address. */
  const ask = (localAddress: string, forwardedFor?: string) =>
    new Promise<string>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: probe.port!, localAddress }, () => {
        const xff = forwardedFor === undefined ? '' : `X-Forwarded-For: ${forwardedFor}\r\n`
        socket.write(`GET / HTTP/1.1\r\nHost: x\r\n${xff}Connection: close\r\n\r\n`)
      })
      let reply = ''
      socket.on('data', (chunk) => (reply += chunk))
      socket.on('end', () => resolve(reply.slice(reply.indexOf('\r\n\r\n') + 4)))
      socket.on('error', reject)
    })

  test('the peer, also behind a dual-stack socket (::ffff: dropped)', async () => {
    expect(await ask('127.0.0.1')).toBe('127.0.0.1')
    expect(await ask('127.0.0.2')).toBe('127.0.0.2')
  })

  test('from a trusted proxy: the nearest untrusted hop; garbage ends the walk', async () => {
    expect(await ask('127.0.0.1', '203.0.113.7')).toBe('203.0.113.7')
    expect(await ask('127.0.0.1', '198.51.100.1, 203.0.113.7')).toBe('203.0.113.7')
    expect(await ask('127.0.0.1', '203.0.113.7, 127.0.0.1')).toBe('203.0.113.7')
    expect(await ask('127.0.0.1', 'not-an-address')).toBe('127.0.0.1')
  })

  test('from anyone else X-Forwarded-For is ignored: a client cannot pick its own address', async () => {
    expect(await ask('127.0.0.2', '203.0.113.7')).toBe('127.0.0.2')
  })

  test('no socket (app.handle) → unknown: only the per-username limit applies', () => {
    expect(clientAddress(new Request('http://localhost/'), null)).toBeUndefined()
  })
})
