/** An error with an HTTP status and the spec's `{error, message}` body. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message)
  }

  toBody() {
    return { error: this.title, message: this.message }
  }
}

type Entity = 'Product' | 'Order' | 'User' | 'Category' | 'Webhook' | 'Delivery'

export const invalidInput = (message: string) => new HttpError(400, 'Invalid input', message)

export const invalidJson = () => invalidInput('The request body is not valid JSON.')

export const notFound = (entity: Entity, id: number) =>
  new HttpError(404, `${entity} not found`, `The ${entity.toLowerCase()} with ID ${id} does not exist.`)

export const conflict = (message: string) => new HttpError(409, 'Conflict', message)

/** A write whose If-Match no longer names the current version (`entity` as in "the product"). */
export const preconditionFailed = (entity: 'product' | 'category') =>
  new HttpError(412, 'Precondition failed', `The ${entity} has changed since it was read.`)

export const forbidden = () => new HttpError(403, 'Forbidden', 'You do not have permission to perform this action.')

export const WWW_AUTHENTICATE = 'Basic realm="inventory", charset="UTF-8", Bearer realm="inventory"'

export const unauthorized = (message: string) =>
  new HttpError(401, 'Unauthorized', message, { 'www-authenticate': WWW_AUTHENTICATE })

const tooMany = (message: string) => (retryAfterSeconds: number) =>
  new HttpError(429, 'Too many requests', message, { 'retry-after': String(retryAfterSeconds) })

/** The username's failed-login allowance is spent. */
export const tooManyRequests = tooMany('Too many failed login attempts; try again later.')

/** The client address has too many password checks running, or too many failures in the window. */
export const tooManyPasswordChecks = tooMany('Too many password checks from this address; try again later.')

/** GET /products: too many searches that read every product are running or waiting (products/search-scans.ts). */
export const tooManySearchScans = () =>
  tooMany('Too many searches for terms without three letters or digits in a row are running; try again in a moment, or search for a longer term.')(1)

export const payloadTooLarge = (limitBytes: number) =>
  new HttpError(413, 'Payload too large', `The request body must not exceed ${limitBytes} bytes.`)

export const unsupportedMediaType = () =>
  new HttpError(415, 'Unsupported media type', 'The request body must be JSON (Content-Type: application/json).')

export const unsupportedCsvMediaType = () =>
  new HttpError(415, 'Unsupported media type', 'The request body must be CSV (Content-Type: text/csv).')

export const INTERNAL_ERROR_BODY = {
  error: 'Internal Server Error',
  message: 'An unexpected error occurred, please try again later.',
} as const
