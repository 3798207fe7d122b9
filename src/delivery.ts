import { getPriority, setPriority } from 'node:os'
import { config } from './config'
import { databaseUrl } from './db/data-source'
import { log } from './http/logger'
import { answerMetricsRequests } from './modules/metrics/cluster'
import { WORKER_STOP_MS } from './modules/webhooks/job-timing'
import { startDeliveryWorker } from './modules/webhooks/worker'
import { settleWithin } from './shutdown'

/**
 * The delivery process (WEBHOOK_WORKER=process), started by the API (supervisor.ts
 * startDeliveryProcess) on the database it prepared: the webhook worker alone, so that sending
 * never competes with requests for a serving process's event loop, and at a lower CPU priority
 * (WEBHOOK_WORKER_NICE), so that the serving processes win the cores and the deliveries catch up
 * as soon as there is room. Its deliveries are counted in its registry, which the API merges into
 * every scrape of /metrics.
 */

// Never above the API's own priority: a process started with nice 15 keeps its delivery process at 15 or below.
const nice = Math.max(config.WEBHOOK_WORKER_NICE, getPriority())
try {
  setPriority(nice)
} catch (error) {
  log.warn('the delivery process could not lower its priority', { nice, error: String(error) })
}
answerMetricsRequests()
const starting = startDeliveryWorker(databaseUrl)

// Set up before the worker has started: a database that does not answer can hold the start for
// long, and a stop must not wait for it longer than for a started worker's stop.
let stopping = false
async function stop(reason: string) {
  if (stopping) return
  stopping = true
  log.info('delivery process stopping', { reason, pid: process.pid })
  // The worker's own stop is bounded (WORKER_STOP_MS); only a start still in progress needs a bound here.
  if (await settleWithin(WORKER_STOP_MS, 'starting the webhook worker', starting)) await (await starting).stop()
  process.exit() // 1 if the worker could not start or stop cleanly in time (settleWithin)
}
process.on('SIGTERM', () => void stop('SIGTERM'))
process.on('SIGINT', () => void stop('SIGINT'))

// A parent killed with kill -9 runs no shutdown: its end closes the IPC channel, and the orphan is
// handed to another parent (a new ppid, checked too, should the channel not tell). Either way this
// process stops rather than deliver on with nobody to stop it (the restarted API starts its own).
const parent = process.ppid
process.once('disconnect', () => void stop('the API process exited'))
setInterval(() => {
  if (process.ppid !== parent) void stop('the API process exited')
}, 500).unref()

await starting
log.info('delivery process started', { pid: process.pid, parent: process.ppid, nice: getPriority() })
