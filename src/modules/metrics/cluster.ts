import type { Subprocess } from 'bun'
import { AggregatorRegistry } from 'prom-client'
import { log } from '../../http/logger'
import { registry } from './registry'

/**
 * With WEB_CONCURRENCY > 1 a scrape reaches one worker (the kernel picks it), yet must describe
 * the whole group. Over the IPC channel of Bun.spawn, that worker asks the primary, the primary asks
 * every worker for its registry as JSON, adds its own, and merges them with prom-client's
 * AggregatorRegistry.aggregate (counters and histograms summed, so are pool gauges: the group's
 * connections). A worker that does not answer in time is left out of that scrape rather than
 * holding it up.
 */
const COLLECT_TIMEOUT_MS = 3000 // well within Prometheus's default scrape timeout of 10 s

type MetricsJson = Awaited<ReturnType<typeof registry.getMetricsAsJSON>>

type Message =
  | { type: 'metrics:group'; id: number } // worker → primary: a scrape arrived
  | { type: 'metrics:collect'; id: number } // primary → worker: send your registry
  | { type: 'metrics:report'; id: number; metrics: MetricsJson } // worker → primary
  | { type: 'metrics:merged'; id: number; text: string } // primary → the worker that was scraped

const isMessage = (value: unknown): value is Message =>
  typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string' && (value as { type: string }).type.startsWith('metrics:')

const send = (message: Message) => process.send?.(message)

const awaitingMerge = new Map<number, (text: string | undefined) => void>()
let nextId = 1

/** This process's metrics, or the whole group's when it is a worker of a primary. */
export async function scrapeMetrics(): Promise<string> {
  if (!process.send) return registry.metrics()
  const id = nextId++
  const merged = await new Promise<string | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), COLLECT_TIMEOUT_MS + 1000)
    awaitingMerge.set(id, (text) => {
      clearTimeout(timer)
      resolve(text)
    })
    send({ type: 'metrics:group', id })
  })
  awaitingMerge.delete(id)
  if (merged === undefined) log.warn('the primary did not merge the metrics in time; this worker answered alone')
  return merged ?? registry.metrics()
}

/** Worker side: answers the primary's requests and its merged results. */
export function answerMetricsRequests() {
  process.on('message', (message: unknown) => {
    if (!isMessage(message)) return
    if (message.type === 'metrics:collect') void registry.getMetricsAsJSON().then((metrics) => send({ type: 'metrics:report', id: message.id, metrics }))
    else if (message.type === 'metrics:merged') awaitingMerge.get(message.id)?.(message.text)
  })
}

/** Primary side: the `ipc` handler of Bun.spawn for the workers in `workers`. */
export function mergeWorkerMetrics(workers: ReadonlySet<Subprocess>) {
  const collections = new Map<number, { reports: MetricsJson[]; waiting: number; finish(): void }>()
  let nextCollection = 1

  function collect(requester: Subprocess, requestId: number) {
    const id = nextCollection++
    const reports: MetricsJson[] = []
    const timer = setTimeout(() => collection.finish(), COLLECT_TIMEOUT_MS)
    const collection = {
      reports,
      waiting: workers.size,
      async finish() {
        if (!collections.delete(id)) return
        clearTimeout(timer)
        if (collection.waiting > 0) log.warn('workers did not report their metrics in time; the scrape leaves them out', { missing: collection.waiting })
        reports.push(await registry.getMetricsAsJSON())
        const text = await AggregatorRegistry.aggregate(reports).metrics()
        if (requester.exitCode === null && requester.signalCode === null) requester.send({ type: 'metrics:merged', id: requestId, text } satisfies Message)
      },
    }
    collections.set(id, collection)
    for (const worker of workers) worker.send({ type: 'metrics:collect', id } satisfies Message)
  }

  return (message: unknown, worker: Subprocess) => {
    if (!isMessage(message)) return
    if (message.type === 'metrics:group') collect(worker, message.id)
    else if (message.type === 'metrics:report') {
      const collection = collections.get(message.id)
      if (!collection) return
      collection.reports.push(message.metrics)
      if (--collection.waiting === 0) void collection.finish()
    }
  }
}
