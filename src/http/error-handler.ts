import { Elysia } from 'elysia'
import { isUniqueViolation, isUnstorableText } from '../db/errors'
import { errorResponses } from './error-responses'
import { conflict, HttpError, INTERNAL_ERROR_BODY, invalidInput, invalidJson } from './errors'
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
  // An element of a bulk request's `items` is named by its position, as the spec's "Item 3: …".
  const [list, index] = Array.isArray(issue?.path) ? issue.path : []
  if (namesField && issue?.message && list === 'items' && typeof index === 'number') return `Item ${index + 1}: ${issue.message}`
  if (namesField && issue?.message) return issue.message
  return LOCATION_MESSAGES[error.type] ?? 'The request is invalid.'
}

/**
 * The error contract: every failure leaves as `{error, message}`. Registered first in the app
 * so it covers every route, including the body parser and the router's own 404.
 */
export const errorHandler = new Elysia({ name: 'error-handler' })
  .error({ HttpError })
  // For the OpenAPI document: any route can answer the generic 500.
  .guard({
    as: 'global',
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
    else if (isUniqueViolation(error)) failure = conflict('The resource conflicts with an existing one.')
    // Backstop for text the schemas let through that the database cannot store (U+0000).
    else if (isUnstorableText(error))
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
