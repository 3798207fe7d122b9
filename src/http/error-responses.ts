import { config } from '../config'
import { HttpError, invalidInput, invalidJson, payloadTooLarge, unsupportedMediaType } from './errors'
import { errorSchema, positiveIdMessage } from './validation'

/** What each error title means: the response's description in the OpenAPI document. */
const MEANINGS: Record<string, string> = {
  'Invalid input': 'A missing, ill-typed or out-of-range field, malformed JSON, a bad id in the path or a bad query parameter.',
  'Insufficient stock': 'The order asks for more units than are in stock; nothing was changed.',
  'Invalid status': 'The status is neither `Pending` nor `Completed`.',
  Unauthorized: 'Missing, malformed or wrong credentials, or an invalid, tampered or expired token.',
  Forbidden: 'Authenticated, but the role may not do this.',
  Conflict: 'The request conflicts with the current data; nothing was changed.',
  'Precondition failed': 'The `If-Match` tag is no longer the current `ETag`: the resource changed since it was read; nothing was written.',
  'Payload too large': 'The body is larger than the configured limit (BODY_LIMIT_BYTES; IMPORT_BODY_LIMIT_BYTES for a CSV import).',
  'Unsupported media type': 'The body is not of the type the operation reads: JSON (`application/json`, `+json` types), or `text/csv` for a CSV import.',
  'Too many requests': 'Too many failed password checks for this username or from this client address, or too many running at once from it; on `GET /products`, too many searches that read every product; retry after `Retry-After` seconds.',
  'Service Unavailable': 'The database does not answer.',
  'Internal Server Error': 'Something unexpected failed (a database outage, for instance); the details are logged under the X-Request-Id.',
}

function meaning(title: string): string {
  const entity = title.match(/^(\w+) not found$/)?.[1]
  return MEANINGS[title] ?? (entity ? `The addressed or referenced ${entity.toLowerCase()} does not exist.` : title)
}

/**
 * The error statuses of an operation, for its `response` map: one `{error, message}` schema per
 * status, described by the titles it can carry, with the given errors as its examples (the first
 * is the one Swagger UI shows first). Built with the constructors the code throws, so the examples
 * are real bodies. Elysia does not validate what the error handler sends, so thrown errors go out
 * unchanged.
 */
export function errorResponses(...errors: HttpError[]): Record<number, typeof errorSchema> {
  const byStatus = Map.groupBy(errors, (error) => error.status)
  return Object.fromEntries(
    [...byStatus].map(([status, examples]) => {
      const titles = [...new Set(examples.map((error) => error.title))]
      const description =
        titles.length === 1 ? meaning(titles[0]!) : titles.map((title) => `**${title}**: ${meaning(title)}`).join('\n\n')
      return [status, errorSchema.meta({ description, examples: examples.map((error) => error.toBody()) })]
    }),
  )
}

/** What any operation that reads a JSON body can answer besides its own rules. */
export const JSON_BODY_ERRORS = [invalidJson(), payloadTooLarge(config.BODY_LIMIT_BYTES), unsupportedMediaType()]

/** The 400 of a malformed id in the path (`label` as in pathId(), e.g. "Product ID"). */
export const invalidId = (label: string) => invalidInput(positiveIdMessage(label))
