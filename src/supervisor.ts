import type { Subprocess } from 'bun'
import { join } from 'node:path'
import { config } from './config'
import { databaseUrl } from './db/data-source'
import { log } from './http/logger'
import { mergeMetricsOf } from './modules/metrics/cluster'

/** Set in a worker's environment: it serves, and leaves preparing to the primary. */
export const WORKER_ENV = 'INVENTORY_WORKER'

/** The entry of the delivery process (WEBHOOK_WORKER=process). */
const DELIVERY_ENTRY = join(import.meta.dir, 'delivery.ts')

type IpcHandler = (message: unknown, child: Subprocess) => void

/** A child process that is started again when it dies, until stop(). */
export interface KeptProcess {
  /** The running child, if any (between a death and its restart there is none). */
  readonly current: Subprocess | undefined
  /** Sends the signal (SIGTERM by default) and waits for the child to exit (each bounds its own shutdown); no restart follows. */
  stop(signal?: NodeJS.Signals): Promise<void>
}

/**
 * Runs `argv` as a child on the database prepared here (the embedded one included: its URL is
 * handed over) without migrating, and starts another a second after one dies.
 */
function keepRunning(name: string, argv: string[], env: Record<string, string>, ipc: IpcHandler): KeptProcess {
  let current: Subprocess | undefined
  let stopping = false
  const start = () => {
    if (stopping) return
    const child = Bun.spawn(argv, {
      env: { ...process.env, ...env, DATABASE_URL: databaseUrl, MIGRATIONS_RUN: 'false' },
      stdio: ['ignore', 'inherit', 'inherit'],
      ipc,
      onExit(_, exitCode, signalCode) {
        if (current === child) current = undefined
        if (stopping) return
        log.error(`${name} exited; starting another`, { pid: child.pid, exitCode, signalCode })
        setTimeout(start, 1000)
      },
    })
    current = child
  }
  start()
  return {
    get current() {
      return current
    },
    async stop(signal = 'SIGTERM') {
      stopping = true
      const child = current
      if (!child) return
      child.kill(signal)
      await child.exited
      // A child that could not stop cleanly (exit code 1) makes the group's exit code 1 too; one that
      // the signal ended before it had set up its handlers (just started) had nothing to stop.
      if (child.exitCode !== 0 && child.signalCode !== signal) process.exitCode = 1
    },
  }
}

/**
 * The delivery process: the webhook worker alone, at a lower CPU priority (see delivery.ts), so that
 * the processes serving requests win the cores and deliveries catch up as soon as there is room.
 * One per process group, started by the process that prepares.
 */
export const startDeliveryProcess = (ipc: IpcHandler) => keepRunning('delivery process', [process.execPath, DELIVERY_ENTRY], {}, ipc)

/**
 * WEB_CONCURRENCY > 1: starts the workers (and the delivery process), restarts one that dies, and on
 * a signal stops them all before the database.
 */
export function supervise(closeDatabase: () => Promise<void>) {
  const children: KeptProcess[] = []
  // A scrape of one worker reports the whole group, the delivery process included.
  const mergeMetrics = mergeMetricsOf(() => children.map((child) => child.current))
  for (let i = 0; i < config.WEB_CONCURRENCY; i++) {
    children.push(keepRunning('worker', [process.execPath, ...process.argv.slice(1)], { [WORKER_ENV]: '1' }, mergeMetrics))
  }
  if (config.WEBHOOK_WORKER === 'process') children.push(startDeliveryProcess(mergeMetrics))
  log.info('workers started', { workers: config.WEB_CONCURRENCY, webhook_worker: config.WEBHOOK_WORKER, pid: process.pid })

  let stopping = false
  async function shutdown(signal: NodeJS.Signals) {
    if (stopping) return
    stopping = true
    log.info('shutting down', { signal, workers: config.WEB_CONCURRENCY })
    await Promise.all(children.map((child) => child.stop(signal)))
    await closeDatabase()
    process.exit() // 1 if a step could not finish in time (settleWithin)
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
  process.on('SIGINT', () => void shutdown('SIGINT'))
}
