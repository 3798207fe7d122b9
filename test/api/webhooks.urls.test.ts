/**
 * SSRF: in production a webhook URL must be https and resolve only to public addresses, at
 * registration (checked here on a real production server process) and before every attempt.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { HTTPS_REQUIRED, PRIVATE_ADDRESS, refusalOf } from '../../src/modules/webhooks/url-safety'
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
