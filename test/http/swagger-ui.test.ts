import { describe, expect, test } from 'bun:test'
import { dirname, join } from 'node:path'
import { swaggerAssetNames } from '../../src/http/swagger-ui'
import { app, call } from '../support/helpers'
import type { OpenApiDocument } from '../support/body'

const distDir = dirname(Bun.resolveSync('swagger-ui-dist/package.json', import.meta.dir))

const CONTENT_TYPES: Record<string, RegExp> = {
  js: /^text\/javascript; charset=utf-8$/,
  css: /^text\/css; charset=utf-8$/,
  png: /^image\/png$/,
}

async function page(path: string) {
  const response = await app.handle(new Request(`http://localhost${path}`))
  return { response, html: await response.text() }
}

/** The `src` and `href` attributes of the page, in order. */
const references = (html: string) => [...html.matchAll(/\s(?:src|href)="([^"]*)"/g)].map((match) => match[1]!)

/** The settings object passed to SwaggerUIBundle(...) in the page. */
function uiSettings(html: string) {
  const match = html.match(/SwaggerUIBundle\(Object\.assign\((\{.*?\}), \{/s)
  if (!match) throw new Error('no SwaggerUIBundle(...) call in the page')
  return JSON.parse(match[1]!)
}

describe('Swagger UI page', () => {
  test.each(['/swagger', '/swagger/'])('%s serves the same HTML page', async (path) => {
    const { response, html } = await page(path)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(html).toContain('<div id="swagger-ui"></div>')
    expect(html).toBe((await page('/swagger')).html)
  })

  test('references only assets of this origin: no external URL anywhere in the page', async () => {
    const { html } = await page('/swagger')
    expect(html).not.toMatch(/https?:\/\//i)
    const refs = references(html)
    expect(refs.length).toBeGreaterThanOrEqual(2)
    for (const ref of refs) expect(ref).toMatch(/^\/swagger\/assets\/[\w.-]+(\?v=[\w.-]+)?$/)
    const scripts = [...html.matchAll(/<script src="([^"]+)"/g)].map((match) => match[1])
    const styles = [...html.matchAll(/<link rel="stylesheet" href="([^"]+)"/g)].map((match) => match[1])
    expect(scripts).toEqual([expect.stringMatching(/\/swagger-ui-bundle\.js\?/)])
    expect(styles).toEqual([expect.stringMatching(/\/swagger-ui\.css\?/)])
  })

  test('every referenced asset answers 200 with its content type and the package file', async () => {
    const { html } = await page('/swagger')
    for (const ref of references(html)) {
      const response = await app.handle(new Request(`http://localhost${ref}`))
      const name = new URL(ref, 'http://localhost').pathname.split('/').pop()!
      expect(response.status, ref).toBe(200)
      expect(response.headers.get('content-type')!, ref).toMatch(CONTENT_TYPES[name.split('.').pop()!]!)
      expect(response.headers.get('x-content-type-options')).toBe('nosniff')
      const body = new Uint8Array(await response.arrayBuffer())
      expect(body.length, ref).toBe(Bun.file(join(distDir, name)).size)
    }
  })

  test('every asset the app serves is one the page uses', async () => {
    const { html } = await page('/swagger')
    for (const name of swaggerAssetNames) expect(html).toContain(`/swagger/assets/${name}?v=`)
  })

  test('other files of the package and path tricks are 404 in the JSON error format', async () => {
    for (const path of [
      '/swagger/assets/index.html',
      '/swagger/assets/swagger-initializer.js',
      '/swagger/assets/package.json',
      '/swagger/assets/..%2Fpackage.json',
      '/swagger/assets/%2E%2E%2F%2E%2E%2Fpackage.json',
    ]) {
      const response = await call('GET', path)
      expect(response.status, path).toBe(404)
      expect(response.body, path).toEqual({ error: 'Not Found', message: expect.any(String) })
    }
  })

  test('the UI loads /swagger/json, keeps "Authorize" across reloads and calls no validator', async () => {
    const { html } = await page('/swagger')
    const settings = uiSettings(html)
    expect(settings).toMatchObject({ url: '/swagger/json', dom_id: '#swagger-ui', persistAuthorization: true, validatorUrl: null })
    // Requests without credentials: a 401's Basic challenge must not open the browser's own login dialog.
    expect(html).toContain("requestInterceptor: (request) => Object.assign(request, { credentials: 'omit' })")
    const document = await call<OpenApiDocument>('GET', settings.url)
    expect(document.status).toBe(200)
    expect(document.body.openapi).toMatch(/^3\./)
  })

  test('"Try it out" goes to the origin that served the page: the document names no other server', async () => {
    const { body } = await call<OpenApiDocument>('GET', '/swagger/json')
    for (const server of body.servers ?? []) expect(server.url).toStartWith('/')
  })

  test('protected operations carry the basic and bearer requirements, so "Authorize" applies to them', async () => {
    const { body } = await call<OpenApiDocument>('GET', '/swagger/json')
    expect(Object.keys(body.components.securitySchemes).sort()).toEqual(['basic', 'bearer'])
    expect(body.paths['/users'].get.security).toEqual([{ basic: [] }, { bearer: [] }])
    expect(body.paths['/health'].get.security).toEqual([]) // public, as the document says explicitly
  })

  test('the page and its assets stay out of the document', async () => {
    const { body } = await call<OpenApiDocument>('GET', '/swagger/json')
    expect(Object.keys(body.paths).filter((path) => path.startsWith('/swagger'))).toEqual([])
  })
})
