/**
 * A real HTTP receiver on loopback for webhook tests and the benchmark: it records every request
 * it gets and answers as the test tells it to (a status, or never, to make the sender time out).
 */
import type { Server } from 'bun'
import { Webhook } from 'standardwebhooks'

export interface Received {
  path: string
  id: string
  timestamp: string
  signature: string
  body: string
  at: number
  /** The status answered, once answered (never for 'hang'). */
  status?: number
}

/** What to answer to one request: a status, or 'hang' (no answer until the sender gives up). */
export type Answer = number | 'hang'

export class Receiver {
  readonly received: Received[] = []
  /** Decides each answer; by default 200. */
  answer: (request: Received, index: number) => Answer = () => 200
  /** How long each answer takes, so that concurrent sends of one event would overlap. */
  delayMs = 0
  /** webhook-ids that arrived while a request with the same id was still being answered (must stay empty). */
  readonly overlapping: string[] = []
  private readonly inFlight = new Set<string>()
  private server: Server<undefined> | undefined

  constructor(public port = 0) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`
  }

  start(): this {
    this.server = Bun.serve({
      hostname: '127.0.0.1',
      port: this.port,
      idleTimeout: 0,
      fetch: async (request) => {
        const entry: Received = {
          path: new URL(request.url).pathname,
          id: request.headers.get('webhook-id') ?? '',
          timestamp: request.headers.get('webhook-timestamp') ?? '',
          signature: request.headers.get('webhook-signature') ?? '',
          body: await request.text(),
          at: Date.now(),
        }
        this.received.push(entry)
        const answer = this.answer(entry, this.received.length - 1)
        if (answer === 'hang') return new Promise<Response>(() => {})
        if (this.inFlight.has(entry.id)) this.overlapping.push(entry.id)
        this.inFlight.add(entry.id)
        if (this.delayMs) await Bun.sleep(this.delayMs)
        this.inFlight.delete(entry.id)
        entry.status = answer
        if (answer >= 300 && answer < 400) return new Response(null, { status: answer, headers: { location: '/elsewhere' } })
        return new Response(answer < 300 ? 'ok' : 'nope', { status: answer })
      },
    })
    this.port = this.server.port!
    return this
  }

  stop() {
    this.server?.stop(true)
    this.server = undefined
  }

  /** The parsed bodies received so far, in arrival order (`accepted`: only those answered 2xx). */
  events(accepted = false): Array<{ id: string; type: string; timestamp: string; data: Record<string, unknown> }> {
    return this.received.filter((entry) => !accepted || (entry.status ?? 0) < 300 && entry.status !== undefined).map((entry) => JSON.parse(entry.body))
  }
}

/** Verifies a received request as any receiver would, with the standardwebhooks library; throws when it does not verify. */
export function verify(secret: string, entry: Received, body = entry.body): unknown {
  return new Webhook(secret).verify(body, {
    'webhook-id': entry.id,
    'webhook-timestamp': entry.timestamp,
    'webhook-signature': entry.signature,
  })
}
