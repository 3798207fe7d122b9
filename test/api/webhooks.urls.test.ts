/**
 * SSRF: in production a webhook URL must be https and resolve only to public addresses, at
 * registration (checked here on a real production server process) and before every attempt, and
 * the attempt goes to the address checked. The TLS files in test/support/tls are a test CA (its
 * key discarded) and a certificate for hooks.example.test that it signed.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { checkDestination, fetchChecked, HTTPS_REQUIRED, PRIVATE_ADDRESS, refusalOf, UNRESOLVABLE } from '../../src/modules/webhooks/url-safety'
import { ApiProcess } from '../faults/harness'
import { resetDatabase } from '../support/helpers'

let production: ApiProcess
let allowing: ApiProcess

beforeAll(async () => {
  await resetDatabase()
  const db = { url: process.env.DATABASE_URL! }
  production = await ApiProcess.start(db, { NODE_ENV: 'production', MIGRATIONS_RUN: 'false' })
  allowing = await ApiProcess.start(db, { NODE_ENV: 'production', MIGRATIONS_RUN: 'false', WEBHOOK_ALLOW_PRIVATE: 'true' })
}, 60_000)

afterAll(async () => {
  await production?.stop()
  await allowing?.stop()
})

async function registerOn(api: ApiProcess, url: string) {
  const response = await fetch(`${api.url}/webhooks`, {
    method: 'POST',
    headers: { authorization: `Basic ${btoa('admin:admin-password')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url, events: ['stock.low'] }),
  })
  return { status: response.status, body: await response.json() }
}

describe('webhook URLs in production', () => {
  test('loopback, private, link-local and metadata addresses, names resolving to loopback, and plain http → 400', async () => {
    const refused: Array<[string, string]> = [
      ['http://127.0.0.1/hook', HTTPS_REQUIRED],
      ['https://127.0.0.1/hook', PRIVATE_ADDRESS],
      ['https://10.0.0.1/hook', PRIVATE_ADDRESS],
      ['https://192.168.1.20/hook', PRIVATE_ADDRESS],
      ['https://169.254.169.254/latest/meta-data', PRIVATE_ADDRESS],
      ['https://[::1]/hook', PRIVATE_ADDRESS],
      ['https://[::ffff:127.0.0.1]/hook', PRIVATE_ADDRESS],
      ['https://[fd00:ec2::254]/hook', PRIVATE_ADDRESS],
      ['https://localhost/hook', PRIVATE_ADDRESS],
      ['https://0.0.0.0/hook', PRIVATE_ADDRESS],
    ]
    for (const [url, message] of refused) {
      expect({ url, ...(await registerOn(production, url)) }).toEqual({ url, status: 400, body: { error: 'Invalid input', message } })
    }
  })

  test('a public https address is accepted; WEBHOOK_ALLOW_PRIVATE=true accepts loopback http', async () => {
    expect((await registerOn(production, 'https://93.184.215.14/hook')).status).toBe(201)
    expect((await registerOn(allowing, 'http://127.0.0.1:9/hook')).status).toBe(201)
  })

  test('each attempt runs the same check before sending (DNS may have changed since registration)', async () => {
    expect(await refusalOf('https://localhost:8443/hook', true)).toBe(PRIVATE_ADDRESS)
    expect(await refusalOf('http://10.0.0.1/hook', true)).toBe(HTTPS_REQUIRED)
    expect(await refusalOf('http://127.0.0.1:9/hook', false)).toBeUndefined()
  })
})

describe('an attempt goes to the address that was checked', () => {
  const tls = (name: string) => Bun.file(`${import.meta.dir}/../support/tls/${name}`)

  test('DNS rebinding: a name that resolved to a public address for the check is not resolved again to connect', async () => {
    // Here "localhost" resolves to this listener; the check is told it resolves to a public address.
    const connections: string[] = []
    const listener = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { open: (socket) => void connections.push(socket.remoteAddress), data() {} } })
    try {
      const url = `https://localhost:${listener.port}/hook`
      const destination = await checkDestination(url, true, async () => ['93.184.215.14'])
      expect(destination).toEqual({ address: '93.184.215.14' })
      const attempt = await fetchChecked(url, destination, { method: 'POST', body: '{}', signal: AbortSignal.timeout(1500) }).then(
        () => 'answered',
        () => 'failed',
      )
      expect({ attempt, connections }).toEqual({ attempt: 'failed', connections: [] })
      // What a request to the name does instead: it reaches the listener.
      await fetch(url, { method: 'POST', body: '{}', signal: AbortSignal.timeout(1500) }).catch(() => undefined)
      expect(connections).toEqual(['127.0.0.1'])
    } finally {
      listener.stop(true)
    }
  })

  test('the request carries the host name: Host header, TLS server name, and a certificate verified against the name', async () => {
    const server = Bun.serve({
      hostname: '127.0.0.1',
      port: 0,
      tls: { cert: tls('hooks.example.test.pem'), key: tls('hooks.example.test.key') },
      fetch: (request) => Response.json({ host: request.headers.get('host'), path: new URL(request.url).pathname + new URL(request.url).search }),
    })
    try {
      const ca = await tls('ca.pem').text()
      const response = await fetchChecked(`https://hooks.example.test:${server.port}/hook?a=1`, { address: '127.0.0.1' }, { method: 'POST', body: '{}', tls: { ca } })
      expect(await response.json()).toEqual({ host: `hooks.example.test:${server.port}`, path: '/hook?a=1' })
      // The same address under a name its certificate does not carry: refused by TLS.
      const elsewhere = await fetchChecked(`https://other.example.test:${server.port}/hook`, { address: '127.0.0.1' }, { method: 'POST', body: '{}', tls: { ca } }).then(
        () => 'answered',
        (error: { code?: string }) => error.code,
      )
      expect(elsewhere).toBe('ERR_TLS_CERT_ALTNAME_INVALID')
    } finally {
      server.stop(true)
    }
  })

  test('every address of the name must be public, no address at all is unresolvable, and IPv4 is preferred', async () => {
    expect(await checkDestination('https://hooks.example.test/x', true, async () => ['93.184.215.14', '10.0.0.7'])).toEqual({ refusal: PRIVATE_ADDRESS })
    expect(await checkDestination('https://hooks.example.test/x', true, async () => [])).toEqual({ refusal: UNRESOLVABLE })
    expect(await checkDestination('https://93.184.215.14/x', true)).toEqual({})
    // Its IPv4 address first, whatever the resolver's order.
    expect(await checkDestination('https://hooks.example.test/x', true, async () => ['2606:2800:21f:cb07:6820:80da:af6b:8b2c', '93.184.215.14'])).toEqual({ address: '93.184.215.14' })
  })
})
