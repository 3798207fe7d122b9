import { afterAll, describe, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'

/**
 * The start command as a user runs it: `bun src/index.ts` with no DATABASE_URL starts the
 * embedded PostgreSQL, migrates, serves, shuts down on SIGTERM, and reuses its data next time.
 */
const dataDir = `/tmp/inventory-startup-${process.pid}-${Date.now()}`
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

async function freePort(): Promise<number> {
  const probe = Bun.serve({ port: 0, fetch: () => new Response() })
  const port = probe.port!
  probe.stop(true)
  return port
}

const baseEnv = (port: number, pgPort: number) => {
  const { DATABASE_URL: _url, TEST_DATABASE_URL: _test, ...env } = process.env
  return {
    ...env,
    NODE_ENV: 'development',
    PORT: String(port),
    EMBEDDED_PG_DIR: dataDir,
    EMBEDDED_PG_PORT: String(pgPort),
    ADMIN_PASSWORD: 'startup-admin-password',
    LOG_LEVEL: 'warn',
    MIGRATIONS_RUN: 'true',
  }
}

async function startServer(port: number, pgPort: number) {
  const child = Bun.spawn(['bun', 'src/index.ts'], { env: baseEnv(port, pgPort), stdout: 'pipe', stderr: 'pipe' })
  for (let i = 0; i < 300; i++) {
    const ready = await fetch(`http://127.0.0.1:${port}/health/ready`).catch(() => undefined)
    if (ready?.status === 200) return child
    if (child.exitCode !== null) break
    await Bun.sleep(100)
  }
  child.kill('SIGKILL')
  throw new Error(`server did not become ready: ${await new Response(child.stderr).text()}`)
}

const postmasterRunning = (pgPort: number) =>
  Bun.spawnSync(['pgrep', '-f', `postgres -D ${dataDir} -p ${pgPort}`]).exitCode === 0

describe('bun run start on the embedded database', () => {
  test('serves, stops gracefully on SIGTERM, and keeps its data for the next start', async () => {
    const [port, pgPort] = [await freePort(), await freePort()]
    const basic = `Basic ${Buffer.from('admin:startup-admin-password').toString('base64')}`

    const first = await startServer(port, pgPort)
    const created = await fetch(`http://127.0.0.1:${port}/categories`, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Survives restarts' }),
    })
    expect(created.status).toBe(201)
    expect(postmasterRunning(pgPort)).toBe(true)
    first.kill('SIGTERM')
    expect(await first.exited).toBe(0)
    expect(postmasterRunning(pgPort)).toBe(false)

    const second = await startServer(port, pgPort)
    try {
      const list = await fetch(`http://127.0.0.1:${port}/categories`, { headers: { authorization: basic } })
      const body = (await list.json()) as { items: Array<{ name: string }> }
      expect(body.items.map((c) => c.name)).toEqual(['Survives restarts'])
    } finally {
      second.kill('SIGTERM')
      expect(await second.exited).toBe(0)
    }
  }, 60_000)
})

describe('configuration', () => {
  const startWith = (env: Record<string, string>) => {
    const { DATABASE_URL: _url, JWT_SECRET: _secret, ...rest } = process.env
    return Bun.spawnSync(['bun', '-e', "await import('./src/config.ts')"], { env: { ...rest, ...env }, stderr: 'pipe' })
  }

  test('production refuses to start without DATABASE_URL and a JWT_SECRET of 32 bytes', () => {
    const result = startWith({ NODE_ENV: 'production', JWT_SECRET: 'too-short' })
    expect(result.exitCode).toBe(1)
    const stderr = result.stderr.toString()
    expect(stderr).toContain('DATABASE_URL: is required in production')
    expect(stderr).toContain('JWT_SECRET: must be at least 32 bytes in production')
  })

  test('a bad value stops the process with a message naming the variable', () => {
    const result = startWith({ NODE_ENV: 'development', PORT: 'eighty' })
    expect(result.exitCode).toBe(1)
    expect(result.stderr.toString()).toContain('PORT:')
  })

  test('a bad WEBHOOK_WORKER or WEBHOOK_WORKER_NICE stops the process with a message naming it', () => {
    for (const [name, value] of [['WEBHOOK_WORKER', 'thread'], ['WEBHOOK_WORKER_NICE', '20'], ['WEBHOOK_WORKER_NICE', '-1'], ['WEBHOOK_WORKER_NICE', 'low']]) {
      const result = startWith({ NODE_ENV: 'development', [name!]: value! })
      expect(result.exitCode, `${name}=${value}`).toBe(1)
      expect(result.stderr.toString(), `${name}=${value}`).toContain(`${name}:`)
    }
  })

  test('production with both set starts its configuration', () => {
    const result = startWith({
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://u:p@db:5432/inventory',
      JWT_SECRET: 'x'.repeat(32),
    })
    expect(result.exitCode).toBe(0)
  })
})
