import type { Client } from 'pg'
import { UNRELAYED_ROWS } from '../../src/modules/webhooks/sql'

const DRAIN_LIMIT_MS = 60_000

export interface DeliveryRate {
  /** Deliveries still queued when the orders stopped, and how many of them were delivered within the limit. */
  backlog: number
  delivered: number
  seconds: number
  eventsPerSecond: number
}

/**
 * One endpoint subscribed to every event type, pointing at a receiver in this process that answers
 * 200. stop() waits until the API's delivery process has delivered the backlog the orders left (the delivery
 * rate the queue sustains), then removes the endpoint, so the rows after it are not charged for it.
 */
export async function subscribeEverything(db: Client): Promise<{ stop(): Promise<DeliveryRate> }> {
  const receiver = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response('ok') })
  const secret = `whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64')}`
  await db.query(
    `INSERT INTO webhook_endpoints (url, events, secret) VALUES ($1, '{stock.low,stock.changed,order.created,order.status_changed}', $2)`,
    [`http://127.0.0.1:${receiver.port}/hook`, secret],
  )
  const pending = async () => Number((await db.query("SELECT count(*) AS n FROM webhook_deliveries WHERE status = 'pending'")).rows[0].n)
  const unrelayed = async () => Number((await db.query(UNRELAYED_ROWS)).rows[0].n)
  return {
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
      await db.query('TRUNCATE webhook_endpoints, webhook_deliveries')
      receiver.stop(true)
      return { backlog, delivered, seconds, eventsPerSecond: seconds > 0 ? delivered / seconds : 0 }
    },
  }
}
