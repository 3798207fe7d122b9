/**
 * How the API finds and reaches its PostgreSQL at start: the address in parts (any password, no
 * URL encoding), and a database that is still starting (compose starts both at once) waited for,
 * for a bounded time. Real processes against the real test PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { createServer, connect, type Server } from 'node:net'
import { Client } from 'pg'
import { loadConfig } from '../../src/config'
import { dataSource } from '../../src/db/data-source'
import { freePort } from '../support/ports'

const testUrl = new URL(process.env.DATABASE_URL!)
const role = `connect_test_${process.pid}`
// Every character a URL gives a meaning to, as base64 passwords and password managers produce them.
const password = 'p/a#s?s@w%rd:+=&x%41 y$'

beforeAll(async () => {
  await dataSource.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`)
  // The webhook worker of every process uses the job queue's schema.
  await dataSource.query(`GRANT USAGE ON SCHEMA graphile_worker TO ${role}; GRANT ALL ON ALL TABLES IN SCHEMA graphile_worker TO ${role}; GRANT ALL ON ALL SEQUENCES IN SCHEMA graphile_worker TO ${role}`)
})
afterAll(() => dataSource.query(`DROP OWNED BY ${role}; DROP ROLE IF EXISTS ${role}`))

/**
 * `bun src/db/cli.ts migrate`, the compose `migrate` service's command, with the given database
 * settings; `onWarning` sees each warning line (they go to stderr) as it comes.
 */
async function migrate(env: Record<string, string>, onWarning: (line: string) => void = () => {}) {
  const { DATABASE_URL: _url, TEST_DATABASE_URL: _test, ...rest } = process.env
  const child = Bun.spawn(['bun', 'src/db/cli.ts', 'migrate'], {
    env: { ...rest, NODE_ENV: 'test', LOG_LEVEL: 'warn', ...env },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  let stderr = ''
  const readStderr = (async () => {
    const decoder = new TextDecoder()
    for await (const chunk of child.stderr) {
      const text = decoder.decode(chunk, { stream: true })
      stderr += text
      for (const line of text.split('\n')) if (line.includes('"level":"warn"')) onWarning(line)
    }
  })()
  const [exitCode, stdout] = await Promise.all([child.exited, new Response(child.stdout).text(), readStderr])
  return { exitCode, output: stdout + stderr }
}

const urlThrough = (port: number, database = testUrl.pathname.slice(1)) => {
  const url = new URL(testUrl)
  url.port = String(port)
  url.pathname = `/${database}`
  return url.href
}

describe('the database address in parts', () => {
  test('DATABASE_HOST, _PORT, _USER, _PASSWORD, _NAME connect with a password that a URL would need encoded', async () => {
    const config = loadConfig({
      NODE_ENV: 'test',
      DATABASE_HOST: testUrl.hostname,
      DATABASE_PORT: testUrl.port,
      DATABASE_USER: role,
      DATABASE_PASSWORD: password,
      DATABASE_NAME: testUrl.pathname.slice(1),
    })
    const client = new Client({ connectionString: config.DATABASE_URL })
    await client.connect()
    try {
      const [row] = (await client.query('SELECT current_user AS "user", current_database() AS database')).rows
      expect(row).toEqual({ user: role, database: testUrl.pathname.slice(1) })
    } finally {
      await client.end()
    }
  })

  const configure = (env: Record<string, string>) => {
    const { DATABASE_URL: _url, ...rest } = process.env
    const result = Bun.spawnSync(['bun', '-e', "await import('./src/config.ts')"], { env: { ...rest, ...env }, stderr: 'pipe' })
    return { exitCode: result.exitCode, stderr: result.stderr.toString() }
  }

  test('DATABASE_HOST without a user stops the start with a message', () => {
    expect(configure({ DATABASE_HOST: 'db' })).toEqual({ exitCode: 1, stderr: expect.stringContaining('DATABASE_USER: is required with DATABASE_HOST') })
  })

  test('DATABASE_URL, when set, is used and the parts are not', () => {
    const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: 'postgres://u:p@elsewhere:5432/x', DATABASE_HOST: 'db', DATABASE_USER: 'u' })
    expect(config.DATABASE_URL).toBe('postgres://u:p@elsewhere:5432/x')
  })

  test('production accepts DATABASE_HOST and its parts instead of DATABASE_URL', () => {
    const production = { NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) }
    expect(configure({ ...production, DATABASE_HOST: 'db', DATABASE_USER: 'u', DATABASE_PASSWORD: password }).exitCode).toBe(0)
    expect(configure(production).stderr).toContain('DATABASE_URL: is required in production (or DATABASE_HOST and its parts)')
  })
})

describe('WEB_CONCURRENCY=2 with the address in parts', () => {
  test("the supervisor's workers, handed its DATABASE_URL, serve", async () => {
    const port = await freePort()
    const { DATABASE_URL: _url, TEST_DATABASE_URL: _test, ...rest } = process.env
    const server = Bun.spawn(['bun', 'src/index.ts'], {
      env: {
        ...rest,
        // Production without ADMIN_PASSWORD creates no admin: nothing is written to the shared test database.
        NODE_ENV: 'production',
        JWT_SECRET: 'supervisor-test-secret-of-at-least-32-bytes',
        LOG_LEVEL: 'warn',
        PORT: String(port),
        WEB_CONCURRENCY: '2',
        MIGRATIONS_RUN: 'false',
        DATABASE_HOST: testUrl.hostname,
        DATABASE_PORT: testUrl.port,
        DATABASE_USER: role,
        DATABASE_PASSWORD: password,
        DATABASE_NAME: testUrl.pathname.slice(1),
      },
      stdout: 'pipe',
      stderr: 'pipe',
    })
    try {
      let status: number | undefined
      for (let waited = 0; status !== 200 && waited < 20_000 && server.exitCode === null; waited += 200) {
        status = (await fetch(`http://127.0.0.1:${port}/health/ready`).catch(() => undefined))?.status
        if (status !== 200) await Bun.sleep(200)
      }
      expect(status).toBe(200)
    } finally {
      server.kill('SIGTERM')
    }
    expect(await server.exited).toBe(0)
  }, 30_000)
})

describe('a database that is still starting', () => {
  let forwarder: Server | undefined
  afterAll(() => forwarder?.close())

  test('is retried: migrate waits for it and succeeds once it accepts connections', async () => {
    const port = await freePort()
    // Nothing listens on the port until migrate has been refused once; then the real PostgreSQL appears behind it.
    const appear = () => {
      forwarder ??= createServer((socket) => {
        const upstream = connect(Number(testUrl.port), testUrl.hostname)
        socket.pipe(upstream).pipe(socket)
        socket.on('error', () => upstream.destroy())
        upstream.on('error', () => socket.destroy())
      }).listen(port, '127.0.0.1')
    }
    const { exitCode, output } = await migrate({ DATABASE_URL: urlThrough(port), DATABASE_CONNECT_RETRY_SECONDS: '30' }, (line) => {
      if (line.includes('"msg":"database not reachable yet, retrying"')) appear()
    })
    expect(output).toContain('"msg":"database not reachable yet, retrying"')
    expect(output).toContain('No pending migrations.')
    expect(exitCode).toBe(0)
  })

  test('for DATABASE_CONNECT_RETRY_SECONDS at most, then the start fails', async () => {
    const { exitCode, output } = await migrate({ DATABASE_URL: urlThrough(await freePort()), DATABASE_CONNECT_RETRY_SECONDS: '1' })
    expect(exitCode).toBe(1)
    expect(output).toContain('ECONNREFUSED')
  })

  test('an answer of PostgreSQL itself (here: no such database) fails at once, without retrying', async () => {
    const { exitCode, output } = await migrate({
      DATABASE_URL: urlThrough(Number(testUrl.port), 'no_such_database'),
      DATABASE_CONNECT_RETRY_SECONDS: '30',
    })
    expect(exitCode).toBe(1)
    expect(output).toContain('database "no_such_database" does not exist')
    expect(output).not.toContain('retrying')
  })
})
