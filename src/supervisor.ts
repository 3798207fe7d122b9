import type { Subprocess } from 'bun'
import { config } from './config'
import { databaseUrl } from './db/data-source'
import { log } from './http/logger'
import { mergeWorkerMetrics } from './modules/metrics/cluster'

/** Set in a worker's environment: it serves, and leaves preparing to the primary. */
export const WORKER_ENV = 'INVENTORY_WORKER'

/** Starts the workers, restarts one that dies, and on a signal stops them all before the database. */
export function supervise(closeDatabase: () => Promise<void>) {
  const workers = new Set<Subprocess>()
  const mergeMetrics = mergeWorkerMetrics(workers)
  let stopping = false

  const start = () => {
    const worker = Bun.spawn([process.execPath, ...process.argv.slice(1)], {
      // The workers use the database prepared here (the embedded one included) and never migrate.
      env: { ...process.env, [WORKER_ENV]: '1', DATABASE_URL: databaseUrl, MIGRATIONS_RUN: 'false' },
      stdio: ['ignore', 'inherit', 'inherit'],
      ipc: mergeMetrics, // a scrape of one worker reports the whole group
      onExit(_, exitCode, signalCode) {
        workers.delete(worker)
        if (stopping) return
        log.error('worker exited; starting another', { pid: worker.pid, exitCode, signalCode })
        setTimeout(start, 1000)
      },
    })
    workers.add(worker)
  }
  for (let i = 0; i < config.WEB_CONCURRENCY; i++) start()
  log.info('workers started', { workers: config.WEB_CONCURRENCY, pid: process.pid })

  async function shutdown(signal: NodeJS.Signals) {
    if (stopping) return
    stopping = true
    log.info('shutting down', { signal, workers: workers.size })
    const exits = [...workers].map((worker) => worker.exited)
    for (const worker of workers) worker.kill(signal)
    await Promise.all(exits)
    await closeDatabase()
    process.exit(0)
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
  process.on('SIGINT', () => void shutdown('SIGINT'))
}

