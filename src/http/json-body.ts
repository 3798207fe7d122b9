import { Elysia } from 'elysia'
import { config } from '../config'
import { invalidJson, payloadTooLarge, unsupportedMediaType } from './errors'

const isJson = (contentType: string) => /^application\/([\w.+-]*\+)?json\b/i.test(contentType)

/**
 * The body as text, refused as soon as it passes `limit` bytes: a streamed (chunked) body has no
 * Content-Length for the early check, and must not be buffered whole before it can be refused.
 */
async function readBody(request: Request, limit: number): Promise<string> {
  if (!request.body) return ''
  const chunks: Uint8Array[] = []
  let size = 0
  for await (const chunk of request.body) {
    size += chunk.byteLength
    if (size > limit) throw payloadTooLarge(limit)
    chunks.push(chunk)
  }
  return new TextDecoder().decode(Buffer.concat(chunks))
}

/**
 * Owns the request body rules: only JSON is read (form and text bodies are what a cross-site page
 * can send), within BODY_LIMIT_BYTES — refused early from Content-Length, or as a streamed body
 * arrives — and malformed JSON is a 400.
 */
export const jsonBody = new Elysia({ name: 'json-body' })
  .onRequest(({ request }) => {
    const length = Number(request.headers.get('content-length') ?? 0)
    if (length > config.BODY_LIMIT_BYTES) throw payloadTooLarge(config.BODY_LIMIT_BYTES)
  })
  .onParse({ as: 'global' }, async ({ request, contentType }) => {
    if (contentType && !isJson(contentType)) throw unsupportedMediaType()
    const body = await readBody(request, config.BODY_LIMIT_BYTES)
    if (body.length === 0 && !contentType) return null
    if (!contentType) throw unsupportedMediaType()
    try {
      return JSON.parse(body)
    } catch {
      throw invalidJson()
    }
  })
  // For the OpenAPI document only. @elysiajs/openapi lists a body's media types from the route's
  // named parsers and skips functions such as the reader above: 'json' makes it document
  // application/json. It never runs, since the reader always returns a body or throws; it must
  // stay after the reader, or it would run first.
  .guard({ as: 'global', parse: ['json'] })
