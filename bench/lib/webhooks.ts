import { readFileSync } from 'node:fs'
import type { Client } from 'pg'
import { UNRELAYED_ROWS } from '../../src/modules/webhooks/sql'
import { childrenOf, cpuSecondsOf } from './processes'

const DRAIN_LIMIT_MS = 60_000

export interface DeliveryRate {
  /** Deliveries still queued when the orders stopped, and how many of them were delivered within the limit. */
  backlog: number
  delivered: number
  seconds: number
  eventsPerSecond: number
}

/** What sending one event costs, measured on a backlog sent with nothing else running. */
export interface DeliveryCapacity {
  events: number
  seconds: number
  eventsPerSecond: number
  /** CPU µs per event: the delivery process, its PostgreSQL sessions, PostgreSQL's background processes, this process (the receiver). */
  cpuUsPerEvent: { deliveryProcess: number; itsDatabaseSessions: number; databaseBackground: number; receiver: number; total: number }
  /** WAL written per event while the backlog was sent (nothing else writes then): deliveries inserted and updated, jobs. */
  walBytesPerEvent: number
}

const ownCpu = () => {
  const usage = process.cpuUsage()
  return (usage.user + usage.system) / 1e6
}

export interface Subscription {
  /** Events not yet delivered: ledger rows not yet relayed, and queued deliveries. */
  queued(): Promise<number>
  /** Waits until every event is delivered, then removes the endpoint (for a run without webhooks). */
  pause(): Promise<void>
  /** Subscribes the endpoint again, to the events from now on. */
  resume(): Promise<void>
  capacity(apiPid: number, placeOrders: () => Promise<unknown>): Promise<DeliveryCapacity>
  stop(): Promise<DeliveryRate>
}

/**
 * One endpoint subscribed to every event type, pointing at a receiver in this process that answers
 * 200. capacity() measures what the delivery pipeline costs per event; stop() waits until the API's
 * delivery process has delivered the backlog the orders left (the delivery rate the queue sustains),
 * then removes the endpoint, so the rows after it are not charged for it.
 */
export async function subscribeEverything(db: Client): Promise<Subscription> {
  let received = 0
  const receiver = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch: () => {
      received++
      return new Response('ok')
    },
  })
  const secret = `whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64')}`
  const subscribe = () =>
    db.query(`INSERT INTO webhook_endpoints (url, events, secret) VALUES ($1, '{stock.low,stock.changed,order.created,order.status_changed}', $2)`, [
      `http://127.0.0.1:${receiver.port}/hook`,
      secret,
    ])
  const unsubscribe = () => db.query('TRUNCATE webhook_endpoints, webhook_deliveries')
  await subscribe()
  const pending = async () => Number((await db.query("SELECT count(*) AS n FROM webhook_deliveries WHERE status = 'pending'")).rows[0].n)
  const unrelayed = async () => Number((await db.query(UNRELAYED_ROWS)).rows[0].n)
  const drained = async () => (await unrelayed()) === 0 && (await pending()) === 0
  return {
    queued: async () => (await unrelayed()) + (await pending()),
    async pause() {
      const started = performance.now()
      while (!(await drained()) && performance.now() - started < DRAIN_LIMIT_MS) await Bun.sleep(50)
      await unsubscribe()
    },
    resume: async () => void (await subscribe()),
    /**
     * The API's delivery process is frozen (SIGSTOP) while `placeOrders` runs, so their events wait
     * in the ledger; then it is let go, and the backlog's relay, queueing, sending and recording are
     * timed and their CPU counted, process by process, until every event has been delivered.
     */
    async capacity(apiPid, placeOrders) {
      const delivery = childrenOf(apiPid).find((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('delivery'))
      if (!delivery) throw new Error('no delivery process under the API (WEBHOOK_WORKER=process)')
      process.kill(delivery, 'SIGSTOP')
      try {
        await placeOrders()
      } finally {
        process.kill(delivery, 'SIGCONT')
      }
      const { rows } = await db.query<{ pid: number; application_name: string; backend_type: string }>('SELECT pid, application_name, backend_type FROM pg_stat_activity')
      const sessions = rows.filter((row) => row.application_name === 'inventory-webhooks').map((row) => row.pid)
      const background = rows.filter((row) => row.backend_type !== 'client backend').map((row) => row.pid)
      const cpu = () => ({ deliveryProcess: cpuSecondsOf([delivery]), itsDatabaseSessions: cpuSecondsOf(sessions), databaseBackground: cpuSecondsOf(background), receiver: ownCpu() })
      const walPosition = async () => Number((await db.query(`SELECT pg_current_wal_insert_lsn() - '0/0'::pg_lsn AS bytes`)).rows[0].bytes)
      const walBefore = await walPosition()
      const before = cpu()
      const receivedBefore = received
      const started = performance.now()
      while (!(await drained()) && performance.now() - started < DRAIN_LIMIT_MS) await Bun.sleep(50)
      const seconds = (performance.now() - started) / 1000
      const after = cpu()
      const walBytes = (await walPosition()) - walBefore
      const events = received - receivedBefore
      const perEvent = (key: keyof typeof before) => ((after[key] - before[key]) * 1e6) / events
      const cpuUsPerEvent = { deliveryProcess: perEvent('deliveryProcess'), itsDatabaseSessions: perEvent('itsDatabaseSessions'), databaseBackground: perEvent('databaseBackground'), receiver: perEvent('receiver'), total: 0 }
      cpuUsPerEvent.total = cpuUsPerEvent.deliveryProcess + cpuUsPerEvent.itsDatabaseSessions + cpuUsPerEvent.databaseBackground + cpuUsPerEvent.receiver
      return { events, seconds, eventsPerSecond: events / seconds, cpuUsPerEvent, walBytesPerEvent: walBytes / events }
    },
    async stop() {
      // The backlog is counted once the relay has turned every movement and alert into deliveries (within a second or two).
      const relayStarted = performance.now()
      while ((await unrelayed()) > 0 && performance.now() - relayStarted < DRAIN_LIMIT_MS) await Bun.sleep(100)
      const backlog = await pending()
      const started = performance.now()
      let left = backlog
      // Bounded: the rate is measured on what was delivered within the limit.
      while (left > 0 && performance.now() - started < DRAIN_LIMIT_MS) {
        await Bun.sleep(250)
        left = await pending()
      }
      const seconds = (performance.now() - started) / 1000
      const delivered = backlog - left
      await unsubscribe()
      receiver.stop(true)
      return { backlog, delivered, seconds, eventsPerSecond: seconds > 0 ? delivered / seconds : 0 }
    },
  }
}
