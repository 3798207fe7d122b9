/**
 * The served OpenAPI document as real tools read it: Redocly's recommended ruleset (with the two
 * exceptions of redocly.yaml) finds nothing, and openapi-typescript turns it into types with which a
 * small openapi-fetch client (test/http/openapi-client/) type-checks and works — where a path or field the
 * document does not have fails the type check.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import openapiTS, { astToString, type OpenAPI3 } from 'openapi-typescript'
import { app, call, resetDatabase, type Seeded } from '../support/helpers'

const root = join(import.meta.dir, '../..')
const workDir = mkdtempSync(join(tmpdir(), 'inventory-openapi-'))
const clientPath = join(import.meta.dir, 'openapi-client/client.ts')
const clientSource = await Bun.file(clientPath).text()
let users: Seeded

beforeAll(async () => {
  users = await resetDatabase()
  const served = await call<OpenAPI3>('GET', '/swagger/json')
  expect(served.status).toBe(200)
  await Bun.write(join(workDir, 'openapi.json'), served.text)
  await Bun.write(join(workDir, 'schema.d.ts'), astToString(await openapiTS(served.body)))
  await Bun.write(
    join(workDir, 'tsconfig.json'),
    JSON.stringify({
      // The project's strictness; module resolution from the project's node_modules (openapi-fetch).
      extends: join(root, 'tsconfig.json'),
      compilerOptions: { paths: { 'openapi-fetch': [join(root, 'node_modules/openapi-fetch')] }, typeRoots: [join(root, 'node_modules/@types')] },
      include: ['*.ts'],
    }),
  )
})
afterAll(() => rmSync(workDir, { recursive: true, force: true }))

/** Runs a tool of node_modules with Bun; its exit code and output. */
function run(script: string, args: string[]) {
  const result = Bun.spawnSync([process.execPath, join(root, 'node_modules', script), ...args], {
    cwd: root,
    env: { ...process.env, REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  return { exitCode: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() }
}

/** tsc on the generated schema and the given client files at once: the compiler's error lines. */
async function typeCheck(files: Record<string, string>) {
  for (const [name, source] of Object.entries(files)) await Bun.write(join(workDir, name), source)
  const { exitCode, stdout } = run('typescript/bin/tsc', ['--noEmit', '-p', join(workDir, 'tsconfig.json')])
  return { exitCode, errors: stdout.split('\n').filter((line) => line.includes('error TS')) }
}

describe('Redocly CLI', () => {
  test('lints the served document with the recommended ruleset: no errors, no warnings', () => {
    const { stdout, stderr } = run('@redocly/cli/bin/cli.js', ['lint', join(workDir, 'openapi.json'), '--config', 'redocly.yaml', '--format', 'json'])
    const report = JSON.parse(stdout) as { totals: Record<string, number>; problems: Array<{ ruleId: string; message: string; location: Array<{ pointer: string }> }> }
    const problems = report.problems.map((problem) => `${problem.ruleId} at ${problem.location[0]?.pointer}: ${problem.message}`)
    expect(problems, stderr).toEqual([])
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 })
  }, 30_000)
})

describe('a client generated with openapi-typescript', () => {
  test('type-checks against the types generated from the served document; a wrong path or field does not', async () => {
    // One compiler run for all three: the client as written, and two copies with one typo each.
    const wrongPath = clientSource.replace("client.POST('/orders'", "client.POST('/order'")
    const wrongField = clientSource.replace('stockLeft: afterOrder.data?.stock', 'stockLeft: afterOrder.data?.stok')
    expect([wrongPath, wrongField]).not.toContain(clientSource)
    const { exitCode, errors } = await typeCheck({ 'client.ts': clientSource, 'wrong-path.ts': wrongPath, 'wrong-field.ts': wrongField })
    const errorsIn = (file: string) => errors.filter((line) => line.includes(`/${file}(`))
    expect(errorsIn('client.ts')).toEqual([])
    expect(errorsIn('wrong-path.ts').join('\n')).toContain(`Argument of type '"/order"' is not assignable`)
    expect(errorsIn('wrong-field.ts')).toEqual([expect.stringContaining("Property 'stok' does not exist")])
    expect(exitCode).not.toBe(0)
  }, 60_000)

  test('works against the API: the first order of the README, and a missing product', async () => {
    // Loaded by path: the root type check cannot follow it (its schema exists only in workDir); the check above covers it.
    const { firstOrder, inventoryClient } = await import(clientPath)
    const client = inventoryClient('http://localhost', (request: Request) => app.handle(request))
    const result = await firstOrder(client, users.admin, { username: 'generated-client', password: 'correct-horse-battery' })
    expect(result).toEqual({
      registered: 'customer',
      tokenType: 'Bearer',
      ordered: 3,
      orderStatus: 'Pending',
      stockLeft: 9,
      missing: { status: 404, body: { error: 'Product not found', message: 'The product with ID 999999 does not exist.' } },
    })
  })
})
