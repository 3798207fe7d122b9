import { Elysia } from 'elysia'
import { config } from '../config'
import { invalidInput, invalidJson, payloadTooLarge, unsupportedCsvMediaType, unsupportedMediaType } from './errors'
import { pathOf } from './request-context'

const isJson = (contentType: string) => /^application\/([\w.+-]*\+)?json\b/i.test(contentType)
const isCsv = (contentType: string) => /^text\/csv\b/i.test(contentType)

/** The one route that takes a CSV body, read as a stream under its own size limit. */
export const CSV_IMPORT_PATH = '/products/import'

/** The body limit of a request path: the early Content-Length check and the streamed count use it. */
export const bodyLimitOf = (path: string) => (path === CSV_IMPORT_PATH ? config.IMPORT_BODY_LIMIT_BYTES : config.BODY_LIMIT_BYTES)

/**
 * The body's bytes, refused as soon as they pass `limit`: a streamed (chunked) body has no
 * Content-Length for the early check, and must not be buffered whole before it can be refused.
 */
async function* boundedChunks(body: ReadableStream<Uint8Array> | null, limit: number): AsyncGenerator<Uint8Array> {
  if (!body) return
  let size = 0
  for await (const chunk of body) {
    size += chunk.byteLength
    if (size > limit) throw payloadTooLarge(limit)
    yield chunk
  }
}

async function readBody(request: Request, limit: number): Promise<string> {
  const chunks: Uint8Array[] = []
  for await (const chunk of boundedChunks(request.body, limit)) chunks.push(chunk)
  return new TextDecoder().decode(Buffer.concat(chunks))
}

/** A CSV body as the import reads it: UTF-8 text in chunks (a BOM dropped), bounded in size. */
export interface CsvBody {
  text: AsyncIterable<string>
}

async function* utf8Chunks(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  // fatal: a byte that is not UTF-8 fails the import instead of becoming U+FFFD in the catalogue.
  const decoder = new TextDecoder('utf-8', { fatal: true })
  try {
    for await (const chunk of chunks) yield decoder.decode(chunk, { stream: true })
    yield decoder.decode()
  } catch (error) {
    throw error instanceof TypeError ? invalidInput('The CSV file must be encoded in UTF-8.') : error
  }
}

/**
 * Owns the request body rules: only JSON is read (form and text bodies are what a cross-site page
 * can send), within BODY_LIMIT_BYTES — refused early from Content-Length, or as a streamed body
 * arrives — and malformed JSON is a 400. The one exception, POST /products/import, gets its CSV
 * body as a stream of text within IMPORT_BODY_LIMIT_BYTES, counted the same way.
 */
export const jsonBody = new Elysia({ name: 'json-body' })
  .onRequest(({ request }) => {
    const length = Number(request.headers.get('content-length') ?? 0)
    const limit = bodyLimitOf(pathOf(request))
    if (length > limit) throw payloadTooLarge(limit)
  })
  .onParse({ as: 'global' }, async ({ request, contentType, route }): Promise<unknown> => {
    if (route === CSV_IMPORT_PATH) {
      if (!contentType || !isCsv(contentType)) throw unsupportedCsvMediaType()
      return { text: utf8Chunks(boundedChunks(request.body, config.IMPORT_BODY_LIMIT_BYTES)) } satisfies CsvBody
    }
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
