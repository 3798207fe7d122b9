import type { Subprocess } from 'bun'
import { AggregatorRegistry } from 'prom-client'
import { log } from '../../http/logger'
import { registry } from './registry'

/**
 * A scrape must describe every process of the group, whichever one answers it: the HTTP workers
 * (WEB_CONCURRENCY > 1, the kernel picks the one scraped) and the delivery process, which counts the
 * webhook deliveries. The process that started them (the supervisor primary, or the one serving
 * process) merges: over the IPC channel of Bun.spawn it asks each child for its registry as JSON,
 * adds its own, and merges them with prom-client's AggregatorRegistry.aggregate (counters and
 * histograms summed, so are pool gauges: the group's connections). A scraped HTTP worker asks the
 * primary for that merge. A child that does not answer in time is left out of that scrape rather
 * than holding it up.
 */
const COLLECT_TIMEOUT_MS = 3000 // well within Prometheus's default scrape timeout of 10 s

type MetricsJson = Awaited<ReturnType<typeof registry.getMetricsAsJSON>>

type Message =
  | { type: 'metrics:group'; id: number } // worker → primary: a scrape arrived
  | { type: 'metrics:collect'; id: number } // primary → child: send your registry
  | { type: 'metrics:report'; id: number; metrics: MetricsJson } // child → primary
  | { type: 'metrics:merged'; id: number; text: string } // primary → the worker that was scraped

const isMessage = (value: unknown): value is Message =>
  typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string' && (value as { type: string }).type.startsWith('metrics:')

const send = (message: Message) => process.send?.(message)

const isRunning = (child: Subprocess) => child.exitCode === null && child.signalCode === null

const awaitingMerge = new Map<number, (text: string | undefined) => void>()
let nextId = 1

/** Set in the process that merges its children's metrics (mergeMetricsOf). */
let mergeGroup: (() => Promise<string>) | undefined

/** This process's metrics, merged with its children's, or the whole group's when it is a worker of a primary. */
export async function scrapeMetrics(): Promise<string> {
  if (mergeGroup) return mergeGroup()
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

/** Child side (HTTP workers, the delivery process): answers the primary's requests and its merged results. */
export function answerMetricsRequests() {
  process.on('message', (message: unknown) => {
    if (!isMessage(message)) return
    if (message.type === 'metrics:collect') void registry.getMetricsAsJSON().then((metrics) => send({ type: 'metrics:report', id: message.id, metrics }))
    else if (message.type === 'metrics:merged') awaitingMerge.get(message.id)?.(message.text)
  })
}

/**
 * Merging side: the metrics of this process and of the running children `members()` lists make
 * every scrape, here and in the workers that ask. Returns the `ipc` handler of Bun.spawn for them.
 */
export function mergeMetricsOf(members: () => Iterable<Subprocess | undefined>) {
  const collections = new Map<number, { report(metrics: MetricsJson): void }>()
  let nextCollection = 1

  function collect(): Promise<string> {
    const id = nextCollection++
    const children = [...members()].filter((child): child is Subprocess => child !== undefined && isRunning(child))
    const reports: MetricsJson[] = []
    let waiting = children.length
    const { promise, resolve } = Promise.withResolvers<string>()
    async function finish() {
      if (!collections.delete(id)) return
      clearTimeout(timer)
      if (waiting > 0) log.warn('processes did not report their metrics in time; the scrape leaves them out', { missing: waiting })
      reports.push(await registry.getMetricsAsJSON())
      resolve(await AggregatorRegistry.aggregate(reports).metrics())
    }
    const timer = setTimeout(() => void finish(), COLLECT_TIMEOUT_MS)
    collections.set(id, {
      report(metrics) {
        reports.push(metrics)
        if (--waiting === 0) void finish()
      },
    })
    for (const child of children) child.send({ type: 'metrics:collect', id } satisfies Message)
    if (waiting === 0) void finish()
    return promise
  }
  mergeGroup = collect

  return (message: unknown, child: Subprocess) => {
    if (!isMessage(message)) return
    if (message.type === 'metrics:group')
      void collect().then((text) => {
        if (isRunning(child)) child.send({ type: 'metrics:merged', id: message.id, text } satisfies Message)
      })
    else if (message.type === 'metrics:report') collections.get(message.id)?.report(message.metrics)
  }
}
