import { openapi } from '@elysiajs/openapi'
import { Elysia } from 'elysia'
import { z } from 'zod'
import { config } from '../config'
import { WEBHOOKS_TAG_DESCRIPTION } from '../modules/webhooks/schemas'
import { SENDS_ETAG } from './conditional'
import { WWW_AUTHENTICATE } from './errors'

type GeneratedDocument = {
  paths: Record<string, Record<string, Operation>>
}
type Operation = {
  [SENDS_ETAG]?: boolean
  parameters?: Array<{ description?: string; schema?: { description?: string } }>
  requestBody?: { required?: boolean; content?: Record<string, { schema?: { type?: string | string[] } }> }
  responses?: Record<string, { content?: Record<string, MediaType>; headers?: Record<string, unknown> }>
}
/** An error response's body: errorResponses() gives its schema the `{error, message}` examples. */
type MediaType = {
  schema?: { examples?: Array<{ error: string; message: string }>; contentMediaType?: string; example?: unknown }
  examples?: Record<string, unknown>
  example?: unknown
}

/** The headers every response of a status carries (see unauthorized() and tooManyRequests()). */
const RESPONSE_HEADERS: Record<string, Record<string, unknown>> = {
  401: {
    'WWW-Authenticate': {
      description: 'The challenges a client may answer: Basic (realm "inventory", UTF-8) and Bearer.',
      schema: { type: 'string', example: WWW_AUTHENTICATE },
    },
  },
  429: {
    'Retry-After': {
      description: 'Seconds until the username or client address may try again.',
      schema: { type: 'integer', example: config.LOGIN_LOCKOUT_SECONDS },
    },
  },
}

const ETAG_HEADER = {
  description: 'The entity tag of the current version (strong, RFC 9110): send it as `If-None-Match` on a read or `If-Match` on a write.',
  schema: { type: 'string', example: '"3-5yd2wqkcb2ax"' },
}

/**
 * What the plugin's generator gets wrong or leaves out, corrected from what it did generate:
 * Swagger UI shows a parameter's own description, where the plugin keeps zod's in the schema; it
 * marks every body required, where a nullable one (POST /login) may be left out; a 204 has no
 * body; a string body is text; 401 and 429 always carry their header; and Swagger UI shows only
 * the first of a schema's examples, where named examples of the response give a choice of every
 * error body; a text response whose schema names a contentMediaType (the CSV export) is listed under it.
 * An operation marked with sendsEtag documents the ETag header of its successful and 304 responses.
 */
function finishDocument(document: GeneratedDocument) {
  for (const operation of Object.values(document.paths).flatMap((methods) => Object.values(methods))) {
    for (const parameter of operation.parameters ?? []) parameter.description ??= parameter.schema?.description
    const bodyType = operation.requestBody?.content?.['application/json']?.schema?.type
    if (Array.isArray(bodyType) && bodyType.includes('null')) operation.requestBody!.required = false
    const sendsEtag = operation[SENDS_ETAG]
    delete operation[SENDS_ETAG]
    for (const [status, response] of Object.entries(operation.responses ?? {})) {
      if (status === '204' || status === '304') delete response.content
      if (sendsEtag && (status.startsWith('2') || status === '304')) response.headers = { ...response.headers, ETag: ETAG_HEADER }
      // A handler returning a string answers text/plain (GET /metrics); the plugin calls every body JSON.
      const text = response.content?.['application/json']
      if (/^2/.test(status) && text?.schema && (text.schema as { type?: string }).type === 'string') response.content = { 'text/plain': text }
      // A text response (the CSV export) is listed under the media type its schema names.
      const plain = response.content?.['text/plain']
      const mediaType = plain?.schema?.contentMediaType
      if (plain && mediaType) response.content = { [mediaType]: { schema: plain.schema, example: plain.schema?.example } }
      if (RESPONSE_HEADERS[status]) response.headers = RESPONSE_HEADERS[status]
      const json = response.content?.['application/json']
      const examples = json?.schema?.examples ?? []
      if (Number(status) >= 400 && json && examples.length > 1) {
        json.examples = Object.fromEntries(
          examples.map((body) => [body.message, { summary: `${body.error}: ${body.message}`, value: body }]),
        )
      }
    }
  }
}

const TAGS = [
  { name: 'Health', description: 'Liveness and readiness probes; no authentication.' },
  { name: 'Authentication', description: 'Exchange Basic credentials (or a JSON body) for a Bearer token.' },
  { name: 'Users', description: 'Registration and accounts: `admin`, `manager` and `customer` roles.' },
  { name: 'Categories', description: 'Product categories, unique by name regardless of case.' },
  { name: 'Products', description: 'The catalogue, its stock and the recorded stock movements.' },
  { name: 'Orders', description: 'Orders take stock atomically and never oversell.' },
  { name: 'Alerts', description: 'Low-stock alerts, recorded when a product falls below its threshold.' },
  { name: 'Stock adjustments', description: 'Changes of stock with a reason, one product or many at once, compare-and-set with expected_stock.' },
  { name: 'Webhooks', description: WEBHOOKS_TAG_DESCRIPTION },
  { name: 'Operations', description: 'Prometheus metrics for monitoring.' },
]

/**
 * The OpenAPI document at `${path}/json`, generated by @elysiajs/openapi from the route definitions
 * (the UI page is served by swaggerUi(), from local assets).
 */
export function openApiDocument(options: { path: string; metricsToken: boolean }) {
  const finished = new WeakSet<object>()
  return (
    new Elysia({ name: 'openapi-document', seed: options })
      // Local to this instance, so it only sees the plugin's document route (which caches the document).
      .onAfterHandle(({ responseValue }) => {
        if (typeof responseValue !== 'object' || responseValue === null || finished.has(responseValue)) return
        finishDocument(responseValue as GeneratedDocument)
        finished.add(responseValue)
      })
      .use(
        openapi({
          path: options.path,
          provider: null,
          // Requests are documented as clients send them: the input side of transforms (ids, query
          // numbers) is representable, where the default output side makes zod throw.
          mapJsonSchema: { zod: (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) },
          documentation: {
            info: {
              title: 'Inventory API',
              version: '1.0.0',
              description:
                'Products, categories, orders that never oversell, stock movements and low-stock alerts. Every error is `{"error", "message"}`; protected operations take Basic credentials or a Bearer token from `POST /login`.',
            },
            // Relative: requests go to the host that served the document, wherever it is deployed.
            servers: [{ url: '/', description: 'The server that serves this document' }],
            tags: TAGS,
            components: {
              securitySchemes: {
                basic: { type: 'http', scheme: 'basic' },
                bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
                // Declared only where GET /metrics requires it, so the document never lists an unused scheme.
                ...(!options.metricsToken
                  ? {}
                  : { metricsToken: { type: 'http', scheme: 'bearer', description: 'The METRICS_TOKEN of the deployment (GET /metrics only).' } }),
              },
            },
          },
        }),
      )
  )
}
