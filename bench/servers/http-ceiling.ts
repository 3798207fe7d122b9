/**
 * H, the HTTP ceiling: a bare Bun.serve answering every request with one response captured from
 * the API (same status, same JSON bytes). Nothing real can be faster on this machine.
 */
import { readFileSync } from 'node:fs'

const status = Number(process.env.CEILING_STATUS ?? 200)
const body = readFileSync(process.env.CEILING_BODY_FILE!, 'utf8')
const headers = { 'content-type': 'application/json' }

Bun.serve({
  hostname: process.env.HOST,
  port: Number(process.env.PORT),
  async fetch(request) {
    if (request.method === 'POST') await request.json() // a POST's body is read and parsed, as the API must
    return new Response(body, { status, headers })
  },
})
