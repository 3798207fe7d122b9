import { describe, expect, test } from 'bun:test'
import { createApp } from '../../src/app'

const preflight = (app: ReturnType<typeof createApp>, origin: string) =>
  app.handle(
    new Request('http://localhost/products', {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    }),
  )

describe('CORS', () => {
  test('off by default: no browser origin is allowed', async () => {
    const app = createApp({ corsOrigins: [] })
    const response = await preflight(app, 'https://shop.example')
    expect(response.headers.get('access-control-allow-origin')).toBeNull()
    const simple = await app.handle(new Request('http://localhost/health', { headers: { origin: 'https://shop.example' } }))
    expect(simple.headers.get('access-control-allow-origin')).toBeNull()
  })

  test('configured origins are allowed, others are not', async () => {
    const app = createApp({ corsOrigins: ['https://shop.example'] })
    const allowed = await preflight(app, 'https://shop.example')
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://shop.example')
    expect(allowed.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization')
    const other = await preflight(app, 'https://evil.example')
    expect(other.headers.get('access-control-allow-origin')).toBeNull()
  })
})
