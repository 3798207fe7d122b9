/**
 * No Docker engine runs in CI, so the Dockerfile, compose.yaml and .env.example are checked
 * statically here: against each other, against package.json's scripts and against the config schema.
 */
import { describe, expect, test } from 'bun:test'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { Client } from 'pg'
import { configSchema, loadConfig } from '../../src/config'

const root = join(import.meta.dir, '../..')
const read = (path: string) => Bun.file(join(root, path)).text()
const packageJson = await Bun.file(join(root, 'package.json')).json()
const scripts: Record<string, string> = packageJson.scripts

// ---------------------------------------------------------------- .env files

/** KEY=value lines of a .env file (no quoting or expansion is used in ours). */
function parseDotenv(text: string): Record<string, string> {
  const entries: Record<string, string> = {}
  for (const line of text.split('\n')) {
    const match = line.match(/^([A-Z0-9_]+)=(.*)$/)
    if (match) entries[match[1]!] = match[2]!
  }
  return entries
}

const envExampleText = await read('.env.example')
const envExample = parseDotenv(envExampleText)
const configKeys = Object.keys(configSchema.shape)

// ---------------------------------------------------------------- compose

/** Compose's variable interpolation: ${X}, ${X:-default}, ${X-default}, ${X:?error}, ${X?error}, $$. */
function interpolate(value: string, env: Record<string, string | undefined>): string {
  return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\}/g, (whole, name, colon, op, arg) => {
    if (whole === '$$') return '$'
    const current = env[name]
    const missing = colon ? !current : current === undefined
    if (op === '-') return missing ? arg : current!
    if (op === '?' && missing) throw new Error(`${name}: ${arg}`)
    return current ?? ''
  })
}

function interpolateAll(node: unknown, env: Record<string, string | undefined>): any {
  if (typeof node === 'string') return interpolate(node, env)
  if (Array.isArray(node)) return node.map((item) => interpolateAll(item, env))
  if (node && typeof node === 'object')
    return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, interpolateAll(value, env)]))
  return node
}

const composeRaw = Bun.YAML.parse(await read('compose.yaml')) as any
/** What `docker compose config` would see with .env copied from the example and its secrets filled in. */
const filledEnv = {
  ...envExample,
  POSTGRES_PASSWORD: 'db-password',
  JWT_SECRET: 'a-secret-that-is-at-least-32-bytes-long',
  ADMIN_PASSWORD: 'admin-password',
}
const compose = interpolateAll(composeRaw, filledEnv)
const services = compose.services as Record<string, any>

// ---------------------------------------------------------------- Dockerfile

interface Instruction {
  keyword: string
  args: string
}
interface Stage {
  image: string
  name?: string
  instructions: Instruction[]
}

/** Splits a Dockerfile into stages of instructions; line continuations joined, comments dropped, ARG defaults applied to FROM. */
function parseDockerfile(text: string) {
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
  const args: Record<string, string> = {}
  const stages: Stage[] = []
  for (const line of lines) {
    const [, keyword, rest] = line.match(/^(\w+)\s+(.*)$/)!
    const args_ = rest!.replace(/\s+/g, ' ')
    if (keyword!.toUpperCase() === 'FROM') {
      const [image, as, name] = interpolate(args_, args).split(' ')
      stages.push({ image: image!, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] })
    } else if (keyword!.toUpperCase() === 'ARG' && stages.length === 0) {
      const [name, value] = args_.split('=')
      args[name!] = value ?? ''
    } else {
      stages.at(-1)!.instructions.push({ keyword: keyword!.toUpperCase(), args: args_ })
    }
  }
  return stages
}

const stages = parseDockerfile(await read('Dockerfile'))
const finalStage = stages.at(-1)!
const instructionsOf = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.keyword === keyword)
/** The sources of a COPY (without --from), its last word being the destination. */
const copySources = (instruction: Instruction) => {
  const words = instruction.args.split(' ').filter((word) => !word.startsWith('--'))
  return words.slice(0, -1)
}
const execForm = (args: string): string[] => JSON.parse(args)

describe('Dockerfile', () => {
  test('builds with the classic builder: no `# syntax=` line, which makes BuildKit fetch a frontend', async () => {
    expect(await read('Dockerfile')).not.toMatch(/^#\s*syntax\s*=/im)
  })

  test('every stage builds on the official Bun image, 1.x', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2)
    for (const stage of stages) expect(stage.image).toMatch(/^oven\/bun:1(\.\d+)*(-[a-z]+)?$/)
  })

  test('a dependency stage installs production dependencies only, from the frozen lockfile', () => {
    const deps = stages.find((stage) => instructionsOf(stage, 'RUN').some((run) => run.args.includes('bun install')))!
    expect(deps).toBeDefined()
    expect(deps).not.toBe(finalStage)
    const install = instructionsOf(deps, 'RUN').find((run) => run.args.includes('bun install'))!.args
    expect(install).toContain('--frozen-lockfile')
    expect(install).toContain('--production')
    // The type-only peers Bun installs along are removed (test/containers/ checks the built image).
    expect(install).toContain('rm -rf node_modules/typescript node_modules/@types')
    expect(copySources(instructionsOf(deps, 'COPY')[0]!)).toEqual(['package.json', 'bun.lock'])
    // The final stage takes node_modules from it and installs nothing itself.
    const fromDeps = instructionsOf(finalStage, 'COPY').filter((copy) => copy.args.includes(`--from=${deps.name}`))
    expect(fromDeps.map(copySources)).toEqual([['/app/node_modules']])
    expect(instructionsOf(finalStage, 'RUN')).toEqual([])
  })

  test('the final stage copies exactly the app: src, migrations, package.json, tsconfig.json, bunfig.toml', () => {
    const copied = instructionsOf(finalStage, 'COPY')
      .filter((copy) => !copy.args.includes('--from='))
      .flatMap(copySources)
    expect(copied.sort()).toEqual(['bunfig.toml', 'migrations', 'package.json', 'src', 'tsconfig.json'])
  })

  test('every path it copies from the build context exists and passes .dockerignore', async () => {
    const dockerignore = (await read('.dockerignore')).split('\n').map((line) => line.trim())
    expect(dockerignore).toContain('*') // an allow-list: nothing (.env, .data, .git) reaches the context by accident
    const sources = stages.flatMap((stage) =>
      instructionsOf(stage, 'COPY')
        .filter((copy) => !copy.args.includes('--from='))
        .flatMap(copySources),
    )
    expect(sources.length).toBeGreaterThan(0)
    for (const source of sources) {
      expect(existsSync(join(root, source)), source).toBe(true)
      expect(dockerignore, source).toContain(`!${source}`)
    }
  })

  test('runs as a non-root user, in production mode, on port 3000', () => {
    const users = instructionsOf(finalStage, 'USER').map((user) => user.args)
    expect(users.length).toBeGreaterThan(0)
    expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/)
    const env = instructionsOf(finalStage, 'ENV').map((e) => e.args).join(' ')
    expect(env).toMatch(/(^| )NODE_ENV=production( |$)/)
    expect(instructionsOf(finalStage, 'EXPOSE').map((e) => e.args)).toEqual(['3000'])
    expect(env).toMatch(/(^| )PORT=3000( |$)/)
  })

  test('CMD is the start script in exec form, so SIGTERM reaches bun itself', () => {
    const cmd = instructionsOf(finalStage, 'CMD')
    expect(cmd.length).toBe(1)
    expect(execForm(cmd[0]!.args)).toEqual(scripts.start!.split(' '))
    expect(instructionsOf(finalStage, 'ENTRYPOINT')).toEqual([])
  })

  test('HEALTHCHECK runs the readiness check with bun (the image has no curl)', async () => {
    const [healthcheck] = instructionsOf(finalStage, 'HEALTHCHECK')
    const command = execForm(healthcheck!.args.slice(healthcheck!.args.indexOf('CMD ') + 4))
    expect(command).toEqual(['bun', 'src/healthcheck.ts'])
    expect(await read('src/healthcheck.ts')).toContain('/health/ready')
  })
})

describe('the health check script', () => {
  async function check(server: { port: number } | { closedPort: number }) {
    const port = 'port' in server ? server.port : server.closedPort
    const child = Bun.spawn([process.execPath, join(root, 'src/healthcheck.ts')], {
      env: { PATH: process.env.PATH, PORT: String(port) },
      stdout: 'ignore',
      stderr: 'ignore',
    })
    return child.exited
  }

  test('exits 0 when /health/ready answers 200, 1 on 503 or when nothing listens', async () => {
    let status = 200
    const seen: string[] = []
    const server = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      fetch(request) {
        seen.push(new URL(request.url).pathname)
        return Response.json({}, { status })
      },
    })
    try {
      expect(await check({ port: server.port! })).toBe(0)
      status = 503
      expect(await check({ port: server.port! })).toBe(1)
      expect(seen).toEqual(['/health/ready', '/health/ready'])
    } finally {
      server.stop(true)
    }
    expect(await check({ closedPort: server.port! })).toBe(1)
  })
})

describe('compose.yaml', () => {
  test('has the database, the one-shot migration, the API and the proxy', () => {
    expect(Object.keys(services).sort()).toEqual(['api', 'db', 'migrate', 'proxy'])
  })

  test('db: pgvector/pgvector:0.7.0-pg16, checked with pg_isready over TCP, data on a named volume', () => {
    const db = services.db
    expect(db.image).toBe('pgvector/pgvector:0.7.0-pg16')
    // Not the unix socket, which the image's temporary initialisation server answers on.
    expect(db.healthcheck.test.join(' ')).toContain('pg_isready -h 127.0.0.1 -p 5432 ')
    const [volume] = db.volumes as string[]
    const [name, target] = volume!.split(':')
    expect(target).toBe('/var/lib/postgresql/data')
    expect(Object.keys(compose.volumes)).toContain(name!)
  })

  test('migrate: the API image running the db:migrate script once the database is healthy', () => {
    const migrate = services.migrate
    expect(migrate.command).toEqual(['bun', 'run', 'db:migrate'])
    expect(scripts['db:migrate']).toBeDefined()
    expect(migrate.depends_on).toEqual({ db: { condition: 'service_healthy' } })
    expect(migrate.image).toBe(services.api.image)
    expect(migrate.restart).toBe('no')
  })

  test('the image is built once: only migrate, first in dependency order, carries the build', () => {
    const building = Object.entries(services).filter(([, service]) => service.build)
    expect(building.map(([name]) => name)).toEqual(['migrate'])
    expect(services.migrate.build).toBe('.')
    expect(services.api.build).toBeUndefined()
    expect(Object.keys(services.api.depends_on)).toEqual(['migrate'])
  })

  test('api: starts after a successful migration, with the image CMD (the start script) and MIGRATIONS_RUN=false', () => {
    const api = services.api
    expect(api.depends_on).toEqual({ migrate: { condition: 'service_completed_successfully' } })
    expect(api.command).toBeUndefined() // the Dockerfile's CMD, checked above to be `bun run start`'s command
    expect(api.env_file).toBe('.env')
    expect(api.environment).toMatchObject({ NODE_ENV: 'production', MIGRATIONS_RUN: 'false', PORT: '3000' })
    expect(api.environment).toMatchObject({ DATABASE_URL: '', DATABASE_HOST: 'db', DATABASE_PORT: '5432' })
    expect(api.healthcheck.test).toEqual(['CMD', 'bun', 'src/healthcheck.ts'])
  })

  test('any POSTGRES_PASSWORD reaches PostgreSQL as it is: the database address goes in parts', () => {
    // What base64 passwords and password managers produce: every character a URL gives a meaning to.
    const password = 'p/a#s?s@w%rd:+=&x%41 y'
    const env = { ...filledEnv, POSTGRES_PASSWORD: password }
    const { api, db } = interpolateAll(composeRaw, env).services
    expect(db.environment.POSTGRES_PASSWORD).toBe(password)
    const { DATABASE_URL } = loadConfig({ ...env, ...api.environment })
    // What pg would connect with (a Client connects only on connect()).
    const client = new Client({ connectionString: DATABASE_URL })
    expect({ host: client.host, port: client.port, user: client.user, password: client.password, database: client.database }).toEqual({
      host: 'db',
      port: 5432,
      user: 'inventory',
      password,
      database: 'inventory',
    })
  })

  test('the API and migration environment is a valid production configuration', () => {
    for (const name of ['api', 'migrate']) {
      const env = { ...filledEnv, ...services[name].environment }
      const parsed = configSchema.safeParse(env)
      expect(parsed.error?.issues ?? [], name).toEqual([])
      expect(parsed.data?.NODE_ENV).toBe('production')
    }
  })

  test('refuses to start without the database password, the JWT secret and the admin password', () => {
    for (const name of ['POSTGRES_PASSWORD', 'JWT_SECRET', 'ADMIN_PASSWORD']) {
      expect(() => interpolateAll(composeRaw, { ...filledEnv, [name]: '' }), name).toThrow(name)
    }
  })

  test('replicas come from API_REPLICAS and share the one port the proxy publishes', () => {
    expect(services.api.deploy.replicas).toBe('1')
    const scaled = interpolateAll(composeRaw, { ...filledEnv, API_REPLICAS: '3' })
    expect(Number(scaled.services.api.deploy.replicas)).toBe(3)
    // Only the proxy publishes a port: a fixed host port on the API would clash between replicas.
    for (const [name, service] of Object.entries(services)) if (name !== 'proxy') expect(service.ports, name).toBeUndefined()
    expect(services.proxy.ports).toEqual(['3000:80'])
    expect(interpolateAll(composeRaw, { ...filledEnv, API_PORT: '8080' }).services.proxy.ports).toEqual(['8080:80'])
    expect(services.proxy.depends_on).toEqual({ api: { condition: 'service_healthy' } })
  })

  test('the proxy sends everything to the api service port, resolving replicas at request time', async () => {
    const [mount] = services.proxy.volumes as string[]
    const [source, target] = mount!.split(':')
    expect(target).toBe('/etc/nginx/conf.d/default.conf')
    const nginx = await read(source!)
    expect(nginx).toContain('resolver 127.0.0.11')
    expect(nginx).toMatch(/set \$(\w+) http:\/\/api:3000;\s+proxy_pass \$\1;/)
    // Bodies over the API's own limit must get the API's JSON 413, not an nginx page.
    expect(nginx).toContain('client_max_body_size 0;')
  })

  test('every long-running service has a health check; the one-shot migration has none', () => {
    for (const name of ['db', 'api', 'proxy']) expect(services[name].healthcheck?.test, name).toBeArray()
    expect(services.migrate.healthcheck).toEqual({ disable: true })
  })
})

describe('.env.example', () => {
  test('lists every variable of the configuration schema once, each under a comment line', () => {
    const lines = envExampleText.split('\n')
    for (const key of configKeys) {
      const at = lines.flatMap((line, index) => (line.startsWith(`${key}=`) ? [index] : []))
      expect(at.length, key).toBe(1)
      expect(lines[at[0]! - 1], key).toMatch(/^# \S/)
    }
  })

  test('its values are the defaults: copying it to .env changes nothing', () => {
    const fromExample = Object.fromEntries(configKeys.map((key) => [key, envExample[key]]))
    const withExample = configSchema.parse(fromExample)
    const withNothing = configSchema.parse({})
    expect(withExample).toEqual(withNothing)
  })

  test('names only variables that the app or compose.yaml reads', async () => {
    const composeText = await read('compose.yaml')
    for (const key of Object.keys(envExample)) {
      const used = configKeys.includes(key) || composeText.includes(`\${${key}`)
      expect(used, key).toBe(true)
    }
  })
})
