/**
 * Runs wrk with a generated Lua script and reads back one JSON line that the script's done()
 * prints, so no human-oriented wrk output is parsed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface WrkRequest {
  method: 'GET' | 'POST'
  /** A Lua expression evaluated per request for the path (e.g. `"/products/" .. math.random(1, 100)`). */
  path: string
  /** A Lua expression for the body, for POST. */
  body?: string
  headers: Record<string, string>
  /** A Lua expression for the whole header table, per request, instead of `headers` (e.g. a random credential). */
  headerTable?: string
}

export interface WrkResult {
  rps: number
  p50Ms: number
  p99Ms: number
  requests: number
  /** Responses with a status of 400 or above, plus socket errors and timeouts. */
  errors: number
}

export function requireWrk(): string {
  const wrk = Bun.which('wrk')
  if (!wrk) {
    console.error('wrk is not installed. Install it with:\n\n  sudo apt-get install -y wrk\n\n(Debian/Ubuntu package "wrk"; on macOS: brew install wrk)')
    process.exit(1)
  }
  return wrk
}

const luaString = (value: string) => JSON.stringify(value) // JSON string escapes are valid Lua escapes for ASCII

function script(request: WrkRequest): string {
  const headers = Object.entries(request.headers)
    .map(([name, value]) => `wrk.headers[${luaString(name)}] = ${luaString(value)}`)
    .join('\n')
  return `${headers}
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
request = function()
  return wrk.format(${luaString(request.method)}, ${request.path}${request.body || request.headerTable ? `, ${request.headerTable ?? 'nil'}` : ''}${request.body ? `, ${request.body}` : ''})
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK_RESULT {"requests":%d,"duration_us":%d,"errors":%d,"p50_us":%d,"p99_us":%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
`
}

const scriptDir = mkdtempSync(join(tmpdir(), 'inventory-bench-lua-'))
process.on('exit', () => rmSync(scriptDir, { recursive: true, force: true }))
let scriptCount = 0

/** `stop`: ends the run early (wrk stops on SIGINT and still reports). */
export async function runWrk(wrk: string, url: string, request: WrkRequest, connections: number, seconds: number, stop?: AbortSignal): Promise<WrkResult> {
  const file = join(scriptDir, `workload-${++scriptCount}.lua`)
  writeFileSync(file, script(request))
  // Two threads: one per core, so the load generator is never the single-threaded bottleneck of the H ceiling.
  const child = Bun.spawn([wrk, '-t2', `-c${connections}`, `-d${seconds}s`, '--timeout', '10s', '-s', file, url], {
    stdout: 'pipe',
    stderr: 'pipe',
  })
  stop?.addEventListener('abort', () => child.kill('SIGINT'))
  const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited])
  const line = out.split('\n').find((l) => l.startsWith('WRK_RESULT '))
  if (code !== 0 || !line) throw new Error(`wrk failed (exit ${code}): ${err || out}`)
  const raw = JSON.parse(line.slice('WRK_RESULT '.length)) as { requests: number; duration_us: number; errors: number; p50_us: number; p99_us: number }
  // No request completed within the run: each took longer than the run, not no time at all. An
  // endless latency fails every latency target (wrk's 0 passed them: a list that always timed out was "met").
  const latencyMs = (us: number) => (raw.requests === 0 ? Infinity : us / 1000)
  return {
    rps: raw.requests / (raw.duration_us / 1e6),
    p50Ms: latencyMs(raw.p50_us),
    p99Ms: latencyMs(raw.p99_us),
    requests: raw.requests,
    errors: raw.errors,
  }
}
