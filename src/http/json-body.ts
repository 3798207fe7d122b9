import { Elysia } from 'elysia'
import { config } from '../config'
import { invalidInput, invalidJson, payloadTooLarge, unsupportedMediaType } from './errors'

const isJson = (contentType: string) => /^application\/([\w.+-]*\+)?json\b/i.test(contentType)

/** Deeper than any body the API reads (a bulk adjustment is 3 levels), far below what costs time. */
export const JSON_MAX_DEPTH = 32
/** Array elements and object members in one body: room for 1,000 bulk items of several fields each. */
export const JSON_MAX_ITEMS = 20_000

// Lingering close, as nginx does: a client that sends its whole body before reading (many HTTP
// libraries) would otherwise see the connection reset instead of the 413. Bounded in bytes and time.
export const DRAIN_MAX_BYTES = 16 * 1024 * 1024
const DRAIN_MAX_MS = 5000

const utf8 = new TextDecoder('utf-8', { fatal: true })

interface BodyReader {
  read(): Promise<{ done: true; value?: undefined } | { done: false; value: Uint8Array }>
  cancel(): Promise<void>
}

/** Reads and discards what is left of a refused body, up to the drain bounds, then refuses it. */
async function refuseTooLarge(reader: BodyReader | undefined): Promise<never> {
  if (reader) {
    let timer: Timer | undefined
    const timeUp = new Promise<'time up'>((resolve) => (timer = setTimeout(resolve, DRAIN_MAX_MS, 'time up')))
    try {
      for (let drained = 0; drained <= DRAIN_MAX_BYTES; ) {
        const next = await Promise.race([reader.read(), timeUp])
        if (next === 'time up' || next.done) break
        drained += next.value.byteLength
      }
    } catch {
      // the client hung up: nothing left to drain
    } finally {
      clearTimeout(timer)
      reader.cancel().catch(() => {})
    }
  }
  throw payloadTooLarge(config.BODY_LIMIT_BYTES)
}

/**
 * The body as text, refused as soon as it passes `limit` bytes: a streamed (chunked) body has no
 * Content-Length for the early check, and must not be buffered whole before it can be refused.
 * Bytes that are not UTF-8 are refused, never replaced.
 */
async function readBody(request: Request, limit: number): Promise<string> {
  if (!request.body) return ''
  const reader = request.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (let next = await reader.read(); !next.done; next = await reader.read()) {
    size += next.value.byteLength
    if (size > limit) return refuseTooLarge(reader)
    chunks.push(next.value)
  }
  try {
    return utf8.decode(Buffer.concat(chunks))
  } catch {
    throw invalidInput('The request body is not valid UTF-8.')
  }
}

/**
 * One pass over the text before JSON.parse, counting brackets and commas outside strings: a body
 * nested deeper than JSON_MAX_DEPTH or with more than JSON_MAX_ITEMS items is refused before it is
 * parsed, validated or described in an error, each of which costs time with its depth.
 */
function assertWithinShape(text: string) {
  let depth = 0
  let items = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c) i++ // backslash: skip the escaped character
      else if (c === 0x22) inString = false
    } else if (c === 0x22) inString = true
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > JSON_MAX_DEPTH) throw invalidInput(`The request body is nested too deeply (at most ${JSON_MAX_DEPTH} levels).`)
      items++
    } else if (c === 0x5d || c === 0x7d) depth--
    else if (c === 0x2c) items++
    if (items > JSON_MAX_ITEMS) throw invalidInput(`The request body has too many items (at most ${JSON_MAX_ITEMS}).`)
  }
}

/**
 * Owns the request body rules: only JSON is read (form and text bodies are what a cross-site page
 * can send), within BODY_LIMIT_BYTES — refused early from Content-Length, or as a streamed body
 * arrives — in UTF-8, within JSON_MAX_DEPTH and JSON_MAX_ITEMS; malformed JSON is a 400.
 */
export const jsonBody = new Elysia({ name: 'json-body' })
  .onRequest(async ({ request }) => {
    const length = Number(request.headers.get('content-length') ?? 0)
    if (length > config.BODY_LIMIT_BYTES) await refuseTooLarge(request.body?.getReader())
  })
  .onParse({ as: 'global' }, async ({ request, contentType }) => {
    if (contentType && !isJson(contentType)) throw unsupportedMediaType()
    const body = await readBody(request, config.BODY_LIMIT_BYTES)
    if (body.length === 0 && !contentType) return null
    if (!contentType) throw unsupportedMediaType()
    assertWithinShape(body)
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
