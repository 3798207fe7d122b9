import { Elysia } from 'elysia'
import { QueryFailedError } from 'typeorm'
import { config } from '../config'
import { errorResponses } from './error-responses'
import { HttpError, INTERNAL_ERROR_BODY, invalidInput, invalidJson, payloadTooLarge, unsupportedCsvMediaType, unsupportedMediaType } from './errors'
import { log } from './logger'
import { pathOf, requestId } from './request-context'

const LOCATION_MESSAGES: Record<string, string> = {
  body: 'The request body must be a JSON object.',
  query: 'The query string is invalid.',
  params: 'The path is invalid.',
  headers: 'The request headers are invalid.',
}

/** First issue of a failed validation, as one sentence naming the field; never the input. */
function validationMessage(error: { type: string; valueError?: { path?: unknown; message?: string } }) {
  const issue = error.valueError
  const namesField = Array.isArray(issue?.path) ? issue.path.length > 0 : Boolean(issue?.path)
  if (namesField && issue?.message) return issue.message
  return LOCATION_MESSAGES[error.type] ?? 'The request is invalid.'
}

/** character_not_in_repertoire, untranslatable_character: the input holds text PostgreSQL refuses. */
const UNSTORABLE_TEXT = new Set(['22021', '22P05'])

const isJson = (contentType: string) => /^application\/([\w.+-]*\+)?json\b/i.test(contentType)

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

/** The one route that reads a CSV body, as a stream, under its own size limit. */
export const CSV_IMPORT_PATH = '/products/import'

/** The body limit of a request path, for the early Content-Length check as for the streamed count. */
export const bodyLimitOf = (path: string) => (path === CSV_IMPORT_PATH ? config.IMPORT_BODY_LIMIT_BYTES : config.BODY_LIMIT_BYTES)

const isCsv = (contentType: string) => /^text\/csv\b/i.test(contentType)

/** A CSV body as the import reads it: UTF-8 text in chunks (a BOM dropped), bounded in size. */
export interface CsvBody {
  text: AsyncIterable<string>
}

const notUtf8 = () => invalidInput('The CSV file must be encoded in UTF-8.')

async function* utf8Chunks(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  // fatal: a byte that is not UTF-8 fails the import instead of becoming U+FFFD in the catalogue.
  const decoder = new TextDecoder('utf-8', { fatal: true })
  try {
    for await (const chunk of chunks) yield decoder.decode(chunk, { stream: true })
    yield decoder.decode()
  } catch (error) {
    throw error instanceof TypeError ? notUtf8() : error
  }
}

/**
 * The error contract: every failure leaves as `{error, message}`. Registered first in the app
 * so it covers every route, including the body parser and the router's own 404.
 */
export const errorHandler = new Elysia({ name: 'error-handler' })
  .error({ HttpError })
  // Only JSON bodies are read: form and text bodies are what a cross-site page can send.
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
  // stay after the reader, or it would run first. The 500 below can answer any route.
  .guard({
    as: 'global',
    parse: ['json'],
    response: errorResponses(new HttpError(500, INTERNAL_ERROR_BODY.error, INTERNAL_ERROR_BODY.message)),
  })
  .onError({ as: 'global' }, ({ code, error, set, request }) => {
    let failure: HttpError
    // Elysia wraps whatever the body parser throws in a ParseError.
    const cause = code === 'PARSE' ? (error as Error).cause : undefined
    if (error instanceof HttpError) failure = error
    else if (cause instanceof HttpError) failure = cause
    else if (code === 'VALIDATION') failure = invalidInput(validationMessage(error))
    else if (code === 'PARSE') failure = invalidJson()
    else if (code === 'NOT_FOUND') failure = new HttpError(404, 'Not Found', 'No such route.')
    else if (error instanceof QueryFailedError && (error.driverError as { code?: string })?.code === '23505')
      failure = new HttpError(409, 'Conflict', 'The resource conflicts with an existing one.')
    // Backstop for text the schemas let through that the database cannot store (U+0000).
    else if (error instanceof QueryFailedError && UNSTORABLE_TEXT.has((error.driverError as { code?: string })?.code ?? ''))
      failure = invalidInput('The request contains a character that cannot be stored (such as U+0000).')
    else {
      log.error('unhandled error', {
        request_id: requestId(request),
        method: request.method,
        path: pathOf(request),
        code,
        error: error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : String(error),
      })
      set.status = 500
      return INTERNAL_ERROR_BODY
    }
    set.status = failure.status
    Object.assign(set.headers, failure.headers)
    return failure.toBody()
  })
