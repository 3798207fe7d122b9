import { readFileSync, writeFileSync } from 'node:fs'
import type { Subprocess } from 'bun'

export interface Service {
  name: string
  url: string
  process: Subprocess
  stop(): Promise<void>
}

export async function freePort(): Promise<number> {
  const probe = Bun.serve({ port: 0, fetch: () => new Response() })
  const port = probe.port!
  probe.stop(true)
  return port
}

/** Starts a Bun script as a child process and waits until `readyPath` answers 200. */
export async function startService(name: string, script: string, env: Record<string, string>, readyPath: string): Promise<Service> {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const child = Bun.spawn([process.execPath, script], {
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdout: 'inherit',
    stderr: 'inherit',
  })
  const deadline = Date.now() + 60_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with code ${child.exitCode} during start`)
    const ok = await fetch(url + readyPath).then((r) => r.ok, () => false)
    if (ok) break
    if (Date.now() > deadline) throw new Error(`${name} did not become ready at ${url}${readyPath}`)
    await Bun.sleep(100)
  }
  return {
    name,
    url,
    process: child,
    async stop() {
      child.kill('SIGTERM')
      const exited = await Promise.race([child.exited.then(() => true), Bun.sleep(10_000).then(() => false)])
      if (!exited) child.kill('SIGKILL')
    },
  }
}

/** A process's direct children. */
export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
  } catch {
    return []
  }
}

/** The process and all its descendants (the API's workers when WEB_CONCURRENCY > 1). */
function processTree(pid: number): number[] {
  const pids = [pid]
  for (let i = 0; i < pids.length; i++) pids.push(...childrenOf(pids[i]!))
  return pids
}

const statusKib = (pid: number, field: 'VmHWM' | 'VmRSS') => {
  try {
    const match = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'))
    return match ? Number(match[1]) : 0
  } catch {
    return 0
  }
}

/**
 * Peak resident memory of a process tree over a window: the kernel's high-water mark (VmHWM, reset
 * at the start through /proc/<pid>/clear_refs) where it can be reset, else the highest VmRSS sampled
 * every 50 ms. For several processes the figure is the highest sampled sum.
 */
export function watchMemory(pid: number): { stop(): number } {
  const pids = processTree(pid)
  let resettable = true
  for (const p of pids) {
    try {
      writeFileSync(`/proc/${p}/clear_refs`, '5')
    } catch {
      resettable = false
    }
  }
  let peakSum = 0
  const sample = () => {
    peakSum = Math.max(peakSum, processTree(pid).reduce((sum, p) => sum + statusKib(p, 'VmRSS'), 0))
  }
  sample()
  const timer = setInterval(sample, 50)
  return {
    stop() {
      clearInterval(timer)
      sample()
      const hwm = pids.length === 1 && resettable ? statusKib(pid, 'VmHWM') : 0
      return Math.max(hwm, peakSum) / 1024
    },
  }
}

/** CPU seconds (user + system) the processes have used so far, from /proc/<pid>/stat (clock ticks of 1/100 s); a gone one counts 0. */
export function cpuSecondsOf(pids: number[]): number {
  return pids.reduce((sum, p) => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      return sum + (Number(fields[11]) + Number(fields[12])) / 100 // utime, stime
    } catch {
      return sum
    }
  }, 0)
}

/** CPU seconds a process tree has used so far. */
export const cpuSeconds = (pid: number): number => cpuSecondsOf(processTree(pid))
