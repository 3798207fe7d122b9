import { Elysia } from 'elysia'
import { QueryFailedError } from 'typeorm'
import { config } from '../config'
import { errorResponses } from './error-responses'
import { HttpError, INTERNAL_ERROR_BODY, invalidInput, invalidJson, payloadTooLarge, unsupportedMediaType } from './errors'
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

const isJson = (contentType: string) => /^application\/([\w.+-]*\+)?json\b/i.test(contentType)

/**
 * The error contract: every failure leaves as `{error, message}`. Registered first in the app
 * so it covers every route, including the body parser and the router's own 404.
 */
export const errorHandler = new Elysia({ name: 'error-handler' })
  .error({ HttpError })
  // Only JSON bodies are read: form and text bodies are what a cross-site page can send.
  .onParse({ as: 'global' }, async ({ request, contentType }) => {
    const body = await request.text()
    if (body.length === 0 && !contentType) return null
    if (!isJson(contentType)) throw unsupportedMediaType()
    if (Buffer.byteLength(body) > config.BODY_LIMIT_BYTES) throw payloadTooLarge(config.BODY_LIMIT_BYTES)
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
