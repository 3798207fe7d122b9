/**
 * The README's first block, verbatim, on a machine with only Node.js and npm: the start command runs
 * in a fresh copy of the repository (no node_modules) with a PATH that has node, npm and npx but no
 * bun, and a fresh npm cache, so npx has to fetch Bun from npm. It must serve /health, then stop on
 * SIGTERM with everything it started (the embedded PostgreSQL included).
 *
 * Not part of `bun test` (it downloads Bun and the dependencies): `bun run test:front-door`.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { chmodSync, closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { freePort } from '../support/ports'

const root = join(import.meta.dir, '../..')
const work = mkdtempSync(join(tmpdir(), 'inventory-front-door-'))
// As root, the embedded PostgreSQL runs as the `postgres` user, who must reach the copy's node_modules.
chmodSync(work, 0o755)
// The copy holds a full node_modules and a PostgreSQL data folder: deleting them takes a while.
afterAll(() => rmSync(work, { recursive: true, force: true }), 120_000)

/** The commands of the README's first code block, without their comments. */
async function readmeFirstBlock(): Promise<string[]> {
  const readme = await Bun.file(join(root, 'README.md')).text()
  const block = readme.match(/```sh\n([\s\S]*?)```/)![1]!
  return block
    .split('\n')
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter(Boolean)
}

/**
 * PATH with every directory that holds bun or bunx replaced by a copy of it (symlinks) without them:
 * node, npm, npx and the rest of the system stay where they are.
 */
function pathWithoutBun(): string {
  return (process.env.PATH ?? '')
    .split(':')
    .filter(Boolean)
    .map((dir, index) => {
      if (!['bun', 'bunx'].some((name) => existsSync(join(dir, name)))) return dir
      const shadow = join(work, `path-${index}`)
      mkdirSync(shadow)
      for (const name of readdirSync(dir)) if (name !== 'bun' && name !== 'bunx') symlinkSync(join(dir, name), join(shadow, name))
      return shadow
    })
    .join(':')
}

/** The repository's tracked files as they are in the working tree: what a fresh clone has. */
function freshCopy(): string {
  const app = join(work, 'app')
  const tracked = Bun.spawnSync(['git', 'ls-files', '-z'], { cwd: root }).stdout.toString().split('\0').filter(Boolean)
  for (const file of tracked) {
    if (!existsSync(join(root, file))) continue // deleted in the working tree
    mkdirSync(dirname(join(app, file)), { recursive: true })
    cpSync(join(root, file), join(app, file))
  }
  return app
}

const groupAlive = (pgid: number) => {
  try {
    process.kill(-pgid, 0)
    return true
  } catch {
    return false
  }
}

describe('the README on a machine with Node.js and npm only', () => {
  test('its first block is two npx commands: install and start, install and test', async () => {
    const commands = await readmeFirstBlock()
    expect(commands).toHaveLength(2)
    for (const command of commands) expect(command.split('&&').map((part) => part.trim().split(' ')[0])).toEqual(['npx', 'npx'])
    expect(commands[0]).toEndWith('run start')
    expect(commands[1]).toEndWith('test')
  })

  test('the start command, verbatim and without bun on PATH, serves /health and stops on SIGTERM', async () => {
    const [start] = await readmeFirstBlock()
    const PATH = pathWithoutBun()
    expect(Bun.which('bun', { PATH })).toBeNull()
    expect(Bun.which('npx', { PATH })).not.toBeNull()
    const app = freshCopy()
    expect(existsSync(join(app, 'node_modules'))).toBe(false)

    const [port, pgPort] = [await freePort(), await freePort()]
    const { DATABASE_URL: _url, TEST_DATABASE_URL: _test, NODE_ENV: _env, ...inherited } = process.env
    const logFile = join(work, 'start.log')
    const logFd = openSync(logFile, 'w')
    // setsid: the command and everything it starts (npm, bun, the embedded PostgreSQL) form one process group.
    const child = Bun.spawn(['setsid', 'bash', '-c', start!], {
      cwd: app,
      env: { ...inherited, PATH, npm_config_cache: join(work, 'npm-cache'), PORT: String(port), EMBEDDED_PG_PORT: String(pgPort) },
      stdout: logFd,
      stderr: logFd,
    })
    closeSync(logFd)
    const log = () => Bun.file(logFile).text()
    try {
      const started = performance.now()
      let health: Response | undefined
      while (!health && performance.now() - started < 300_000 && child.exitCode === null) {
        health = await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined)
        if (!health) await Bun.sleep(500)
      }
      expect(health?.status, await log()).toBe(200)
      expect(await health!.json()).toEqual({ status: 'ok' })
      console.log(`/health answered 200 after ${((performance.now() - started) / 1000).toFixed(0)} s`)
      expect(await log()).toContain('Initial admin created: admin / ')

      process.kill(-child.pid, 'SIGTERM')
      for (let waited = 0; groupAlive(child.pid) && waited < 60_000; waited += 250) await Bun.sleep(250)
      expect(groupAlive(child.pid), await log()).toBe(false)
      expect(await log()).toContain('"msg":"shutting down","signal":"SIGTERM"')
    } finally {
      if (groupAlive(child.pid)) process.kill(-child.pid, 'SIGKILL')
    }
  }, 600_000)
})
