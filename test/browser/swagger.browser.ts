/**
 * Swagger UI in a real browser: `bun run test:browser` (Debian's Chromium, installed by
 * scripts/install-browser.sh). Not part of the default `bun test`: the file name does not match
 * *.test.ts, so it runs only when named explicitly.
 *
 * Starts the real server (`bun src/index.ts`, as the Dockerfile does) on a free port against the
 * test database of test/support/setup.ts, and lets any request that leaves that origin fail, as it would
 * on a machine with no internet.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { join } from 'node:path'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { resetDatabase, type TestUser } from '../support/helpers'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
// Without the background-networking flags Chromium keeps trying Google's hosts on a closed network.
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
]
const root = join(import.meta.dir, '../..')

interface Operation {
  method: string
  path: string
  tags: string[]
}

let server: Bun.Subprocess<'ignore', 'pipe', 'pipe'>
let origin: string
let browser: Browser
let context: BrowserContext
let admin: TestUser
let operations: Operation[]
const offOrigin: string[] = []
const pageErrors: string[] = []

async function freePort(): Promise<number> {
  const probe = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response() })
  const port = probe.port!
  probe.stop(true)
  return port
}

async function waitUntilReady(url: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`the server exited with ${server.exitCode}: ${await new Response(server.stderr).text()}`)
    const response = await fetch(url).catch(() => undefined)
    if (response?.status === 200) return
    await Bun.sleep(100)
  }
  throw new Error(`${url} was not ready after ${timeoutMs} ms`)
}

beforeAll(async () => {
  const users = await resetDatabase()
  admin = users.admin
  const port = await freePort()
  origin = `http://127.0.0.1:${port}`
  // process.env already holds the test database and settings from test/support/setup.ts.
  server = Bun.spawn([process.execPath, 'src/index.ts'], {
    cwd: root,
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn' },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  })
  await waitUntilReady(`${origin}/health/ready`, 30_000)

  const spec = (await (await fetch(`${origin}/swagger/json`)).json()) as { paths: Record<string, Record<string, { tags?: string[] }>> }
  operations = Object.entries(spec.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({ method: method.toUpperCase(), path, tags: operation.tags ?? [] })),
  )

  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS, timeout: 60_000 })
  context = await browser.newContext()
  await context.route('**/*', (route) => {
    const url = route.request().url()
    if (url.startsWith(`${origin}/`)) return route.continue()
    offOrigin.push(url)
    return route.abort('internetdisconnected')
  })
}, 120_000)

afterAll(async () => {
  await browser?.close()
  if (server && server.exitCode === null) {
    server.kill('SIGTERM')
    await server.exited
  }
})

async function openSwagger(path = '/swagger'): Promise<Page> {
  const page = await context.newPage()
  page.on('pageerror', (error) => pageErrors.push(`${page.url()}: ${error.message}`))
  await page.goto(`${origin}${path}`)
  await page.locator('.opblock').first().waitFor({ timeout: 30_000 })
  return page
}

/** The operations the page shows, as "METHOD /path", and its tag sections. */
async function shown(page: Page) {
  const listed = await page.locator('.opblock').evaluateAll((blocks) =>
    blocks.map((block) => {
      const method = block.querySelector('.opblock-summary-method')?.textContent?.trim() ?? ''
      const path = block.querySelector('[data-path]')?.getAttribute('data-path') ?? ''
      return `${method} ${path}`
    }),
  )
  const tags = await page.locator('.opblock-tag[data-tag]').evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-tag')!))
  return { operations: [...new Set(listed)].sort(), tags: tags.sort() }
}

/** GET /products once that route exists, else GET /users: an authenticated list that returns 200 to an admin. */
function authenticatedTarget(): Operation {
  const target =
    operations.find((op) => op.method === 'GET' && op.path === '/products') ??
    operations.find((op) => op.method === 'GET' && op.path === '/users')
  if (!target) throw new Error('neither GET /products nor GET /users is in the document')
  return target
}

async function execute(page: Page, target: Operation) {
  const block = page.locator(`.opblock-${target.method.toLowerCase()}`, {
    has: page.locator(`.opblock-summary [data-path="${target.path}"]`),
  })
  // deepLinking may have opened it already (the URL keeps the open operation across a reload).
  if (!(await block.getAttribute('class'))?.includes('is-open')) await block.locator('.opblock-summary').first().click()
  await block.locator('.try-out__btn:not(.cancel)').click()
  const [response] = await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === target.path && r.request().method() === target.method),
    block.locator('button.execute').click(),
  ])
  const status = block.locator('.live-responses-table tr.response > td.response-col_status')
  await status.first().waitFor()
  // The cell reads e.g. "401" or "401 Undocumented" (a status the document does not list).
  const shownStatus = (await status.first().innerText()).trim().match(/^\d{3}/)?.[0]
  return { response, shownStatus, block }
}

describe('Swagger UI in Chromium', () => {
  test('lists every operation of the document, under every tag', async () => {
    const page = await openSwagger()
    const expected = [...new Set(operations.map((op) => `${op.method} ${op.path}`))].sort()
    const expectedTags = [...new Set(operations.flatMap((op) => op.tags))].sort()
    expect(expected).toEqual(expect.arrayContaining(['GET /health', 'GET /health/ready', 'POST /login', 'GET /users', 'POST /users']))
    expect(await shown(page)).toEqual({ operations: expected, tags: expectedTags })
    await page.close()
  }, 60_000)

  test('/swagger/ (trailing slash) shows the same page', async () => {
    const page = await openSwagger('/swagger/')
    const expected = [...new Set(operations.map((op) => `${op.method} ${op.path}`))].sort()
    expect((await shown(page)).operations).toEqual(expected)
    await page.close()
  }, 60_000)

  test('"Authorize" with Basic credentials, then "Try it out" → "Execute" shows 200', async () => {
    const page = await openSwagger()
    const target = authenticatedTarget()

    // Without credentials the same call is refused: the 200 below is the Authorize dialog's doing.
    const anonymous = await execute(page, target)
    expect(anonymous.response.status()).toBe(401)
    expect(anonymous.shownStatus).toBe('401')
    await page.reload()
    await page.locator('.opblock').first().waitFor()

    await page.locator('.auth-wrapper button.authorize').click()
    // The section of the `basic` scheme (its inputs turn into plain text once authorized).
    const basicForm = page.locator('.modal-ux .auth-container').filter({ hasText: '(http, Basic)' })
    await basicForm.locator('#auth-basic-username').fill(admin.username)
    await basicForm.locator('#auth-basic-password').fill(admin.password)
    await basicForm.locator('button[type="submit"]').click()
    await basicForm.getByRole('button', { name: 'Remove authorization' }).waitFor()
    await page.locator('.modal-ux button.btn-done').first().click()
    await page.locator('.auth-wrapper button.authorize.locked').waitFor()

    const { response, shownStatus, block } = await execute(page, target)
    const expectedHeader = `Basic ${Buffer.from(`${admin.username}:${admin.password}`).toString('base64')}`
    expect(response.request().headers()['authorization']).toBe(expectedHeader)
    expect(response.status()).toBe(200)
    expect(shownStatus).toBe('200')
    expect(await block.locator('.live-responses-table tr.response > td.response-col_description').first().innerText()).toContain('"items"')
    await page.close()
  }, 60_000)

  test('the credentials survive a reload (persistAuthorization)', async () => {
    const page = await openSwagger()
    await page.locator('.auth-wrapper button.authorize.locked').waitFor()
    const { response, shownStatus } = await execute(page, authenticatedTarget())
    expect(response.status()).toBe(200)
    expect(shownStatus).toBe('200')
    await page.close()
  }, 60_000)

  test('nothing left the origin and the page raised no error', () => {
    expect(offOrigin).toEqual([])
    expect(pageErrors).toEqual([])
  })

  test('the server stops cleanly on SIGTERM', async () => {
    server.kill('SIGTERM')
    expect(await server.exited).toBe(0)
  }, 30_000)
})
