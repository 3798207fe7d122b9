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
}

/** What to answer to one request: a status, or 'hang' (no answer until the sender gives up). */
export type Answer = number | 'hang'

export class Receiver {
  readonly received: Received[] = []
  /** Decides each answer; by default 200. */
  answer: (request: Received, index: number) => Answer = () => 200
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

  /** The parsed bodies received so far, in arrival order. */
  events(): Array<{ id: string; type: string; timestamp: string; data: Record<string, unknown> }> {
    return this.received.map((entry) => JSON.parse(entry.body))
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
