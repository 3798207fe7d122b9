/**
 * The OpenAPI document at /swagger/json against the app that serves it: the same operations, each
 * fully described, and the authentication it documents checked by calling every operation.
 */
import { beforeAll, describe, expect, test } from 'bun:test'
import { app, call, resetDatabase, type Seeded } from '../support/helpers'

interface Schema {
  type?: string | string[]
  description?: string
  example?: unknown
  examples?: unknown[]
  properties?: Record<string, Schema>
  required?: string[]
}
interface Response {
  description: string
  headers?: Record<string, { description?: string }>
  content?: Record<string, { schema?: Schema; examples?: Record<string, { value: unknown }> }>
}
interface Operation {
  summary?: string
  description?: string
  tags?: string[]
  security?: Array<Record<string, string[]>>
  parameters?: Array<{ name: string; in: string; description?: string; required?: boolean }>
  requestBody?: { required?: boolean; content: Record<string, { schema?: Schema }> }
  responses?: Record<string, Response>
}
interface Documented {
  key: string
  method: string
  path: string
  operation: Operation
}

const SIGNED_IN: Array<Record<string, string[]>> = [{ basic: [] }, { bearer: [] }]
/** Routes that answer 403 from a role rule in the handler, not from the `role` macro, and a request that hits it. */
const ROLE_RULES_IN_HANDLERS: Record<string, (users: Seeded) => { path: string; body: unknown; as?: Seeded[keyof Seeded] }> = {
  'POST /users': () => ({ path: '/users', body: { username: 'would-be-admin', password: 'long-enough-1', role: 'admin' } }),
  'PUT /users/{id}': (users) => ({ path: `/users/${users.customer.id}`, body: { role: 'admin' }, as: users.customer }),
}

let document: any
let operations: Documented[]
let users: Seeded

/** `:id` in Elysia's route paths is `{id}` in the document. */
const toOpenApiPath = (path: string) => path.replace(/:(\w+)/g, '{$1}')

beforeAll(async () => {
  users = await resetDatabase()
  const response = await call('GET', '/swagger/json')
  expect(response.status).toBe(200)
  document = response.body
  operations = Object.entries(document.paths as Record<string, Record<string, Operation>>).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({ key: `${method.toUpperCase()} ${path}`, method: method.toUpperCase(), path, operation })),
  )
})

/** A request with the operation's path filled in, and an empty JSON object when it takes a body. */
const probe = ({ method, path, operation }: Documented, as?: Seeded[keyof Seeded]) =>
  call(method, path.replace(/\{\w+\}/g, '1'), { as, body: operation.requestBody ? {} : undefined })

const errorStatuses = (operation: Operation) => Object.keys(operation.responses ?? {}).filter((status) => Number(status) >= 400)

describe('the document matches the routes', () => {
  test('every route the app serves is documented, and every documented operation is served', () => {
    // The Swagger UI page, its assets and the document itself are not part of the API.
    const served = app.routes
      .filter((route) => !route.path.startsWith('/swagger'))
      .map((route) => `${route.method} ${toOpenApiPath(route.path)}`)
    const documented = operations.map((op) => op.key)
    expect(served.length).toBeGreaterThan(20)
    expect(served.filter((key) => !documented.includes(key))).toEqual([])
    expect(documented.filter((key) => !served.includes(key))).toEqual([])
  })

  test('a route takes a body exactly when its operation documents one, as application/json with a schema', () => {
    for (const route of app.routes.filter((route) => !route.path.startsWith('/swagger'))) {
      const key = `${route.method} ${toOpenApiPath(route.path)}`
      const requestBody = operations.find((op) => op.key === key)!.operation.requestBody
      expect(Boolean(requestBody), key).toBe(Boolean(route.hooks.body))
      if (!requestBody) continue
      expect(Object.keys(requestBody.content), key).toEqual(['application/json'])
      expect(requestBody.content['application/json']!.schema?.properties, key).toBeObject()
    }
  })
})

describe('every operation is described', () => {
  test('summary, description, and a tag that the document describes', () => {
    const tags = new Map<string, string>(document.tags.map((tag: { name: string; description: string }) => [tag.name, tag.description]))
    for (const { key, operation } of operations) {
      expect(operation.summary?.trim(), key).toBeTruthy()
      expect(operation.description?.trim(), key).toBeTruthy()
      expect(operation.tags?.length, key).toBe(1)
      expect(tags.get(operation.tags![0]!), key).toBeTruthy()
    }
  })

  test("a 4xx on every operation but the health probes (redocly.yaml turns the linter's rule off for them)", () => {
    const without4xx = operations.filter(({ operation }) => !Object.keys(operation.responses ?? {}).some((status) => /^4\d\d$/.test(status)))
    expect(without4xx.map((op) => op.key)).toEqual(['GET /health', 'GET /health/ready'])
  })

  test('a success response and the generic 500', () => {
    for (const { key, operation } of operations) {
      const statuses = Object.keys(operation.responses ?? {})
      expect(statuses.some((status) => /^2\d\d$/.test(status)), key).toBe(true)
      expect(operation.responses?.['500']?.content?.['application/json']?.schema?.examples, key).toEqual([
        { error: 'Internal Server Error', message: 'An unexpected error occurred, please try again later.' },
      ])
      for (const status of statuses.filter((status) => /^2\d\d$/.test(status))) {
        const response = operation.responses![status]!
        expect(response.description, `${key} ${status}`).not.toStartWith('Response for status')
        if (status === '204') expect(response.content, key).toBeUndefined()
        // GET /metrics: the Prometheus text format.
        else if (key === 'GET /metrics') expect(response.content?.['text/plain']?.schema?.type, key).toBe('string')
        else expect(response.content?.['application/json']?.schema?.type, `${key} ${status}`).toBe('object')
      }
    }
  })

  test('every parameter has a description; paths, pages and the Idempotency-Key are among them', () => {
    for (const { key, path, operation } of operations) {
      const parameters = operation.parameters ?? []
      for (const parameter of parameters) expect(parameter.description?.trim(), `${key} ${parameter.name}`).toBeTruthy()
      for (const [, name] of path.matchAll(/\{(\w+)\}/g)) {
        expect(parameters, key).toContainEqual(expect.objectContaining({ name, in: 'path', required: true }))
      }
      const success = operation.responses?.['200']?.content?.['application/json']?.schema
      if (success?.properties?.items) {
        const query = parameters.filter((parameter) => parameter.in === 'query').map((parameter) => parameter.name)
        expect(query, key).toEqual(expect.arrayContaining(['limit', 'offset']))
      }
    }
    const filters = operations.find((op) => op.key === 'GET /products')!.operation.parameters!.map((parameter) => parameter.name)
    expect(filters).toEqual(expect.arrayContaining(['q', 'category_id', 'min_price', 'max_price', 'in_stock', 'low_stock', 'sort']))
    expect(operations.find((op) => op.key === 'POST /orders')!.operation.parameters).toContainEqual(
      expect.objectContaining({ name: 'idempotency-key', in: 'header', required: false, description: expect.any(String) }),
    )
  })

  test('every request-body field has a description, and the body an example', () => {
    for (const { key, operation } of operations) {
      const schema = operation.requestBody?.content['application/json']?.schema
      if (!schema) continue
      const fields = Object.entries(schema.properties ?? {})
      for (const [name, field] of fields) expect(field.description?.trim(), `${key} ${name}`).toBeTruthy()
      const exemplified = schema.example !== undefined || fields.every(([, field]) => field.example !== undefined)
      expect(exemplified, key).toBe(true)
    }
  })

  test('POST /login may be sent without a body (Basic credentials instead); other bodies are required', () => {
    for (const { key, operation } of operations.filter((op) => op.operation.requestBody)) {
      expect(operation.requestBody!.required, key).toBe(key !== 'POST /login')
    }
  })
})

describe('error responses', () => {
  test('each is the {error, message} schema with example bodies', () => {
    for (const { key, operation } of operations) {
      for (const status of errorStatuses(operation)) {
        const response = operation.responses![status]!
        const json = response.content?.['application/json']
        const schema = json?.schema
        expect(response.description, `${key} ${status}`).not.toStartWith('Response for status')
        expect(schema, `${key} ${status}`).toMatchObject({
          type: 'object',
          properties: { error: { type: 'string' }, message: { type: 'string' } },
          required: ['error', 'message'],
        })
        expect(schema!.examples?.length, `${key} ${status}`).toBeGreaterThan(0)
        for (const example of schema!.examples!) expect(example, `${key} ${status}`).toEqual({ error: expect.any(String), message: expect.any(String) })
        // Swagger UI shows only a schema's first example: several are also offered as named examples.
        if (schema!.examples!.length > 1) {
          expect(Object.values(json!.examples ?? {}).map((example) => example.value), `${key} ${status}`).toEqual(schema!.examples!)
        }
      }
    }
  })

  test('a 401 describes its WWW-Authenticate header, a 429 its Retry-After', () => {
    for (const { key, operation } of operations) {
      const responses = operation.responses ?? {}
      if (responses['401']) expect(responses['401'].headers?.['WWW-Authenticate']?.description, key).toBeTruthy()
      if (responses['429']) expect(responses['429'].headers?.['Retry-After']?.description, key).toBeTruthy()
    }
  })

  const examplesOf = (key: string, status: string) =>
    operations.find((op) => op.key === key)!.operation.responses?.[status]?.content?.['application/json']?.schema?.examples

  test("the specification's exact bodies are among the examples", () => {
    expect(examplesOf('GET /products/{id}', '404')).toContainEqual({ error: 'Product not found', message: 'The product with ID 42 does not exist.' })
    expect(examplesOf('GET /orders/{id}', '404')).toContainEqual({ error: 'Order not found', message: 'The order with ID 42 does not exist.' })
    expect(examplesOf('GET /users/{id}', '404')).toContainEqual({ error: 'User not found', message: 'The user with ID 42 does not exist.' })
    expect(examplesOf('GET /categories/{id}', '404')).toContainEqual({ error: 'Category not found', message: 'The category with ID 42 does not exist.' })
    for (const field of ['name', 'price', 'stock']) {
      expect(examplesOf('POST /products', '400')).toContainEqual({ error: 'Invalid input', message: `Product ${field} is required.` })
    }
    for (const message of ['Order product_id is required.', 'Order quantity is required.']) {
      expect(examplesOf('POST /orders', '400')).toContainEqual({ error: 'Invalid input', message })
    }
    expect(examplesOf('POST /orders', '400')).toContainEqual({
      error: 'Insufficient stock',
      message: 'There are only 5 units of Product A in stock, but you requested 10.',
    })
    expect(examplesOf('PUT /orders/{id}/status', '400')).toContainEqual({
      error: 'Invalid status',
      message: "Order status must be either 'Pending' or 'Completed'.",
    })
    for (const message of ['Username is required.', 'Password is required.']) {
      expect(examplesOf('POST /users', '400')).toContainEqual({ error: 'Invalid input', message })
    }
    expect(examplesOf('POST /login', '429')).toContainEqual({ error: 'Too many requests', message: expect.any(String) })
    expect(examplesOf('POST /users', '409')).toContainEqual({ error: 'Conflict', message: expect.any(String) })
  })

  test('every operation with a JSON body lists 400 (malformed JSON), 413 and 415', () => {
    for (const { key, operation } of operations.filter((op) => op.operation.requestBody)) {
      expect(examplesOf(key, '400'), key).toContainEqual({ error: 'Invalid input', message: 'The request body is not valid JSON.' })
      expect(examplesOf(key, '413')?.[0], key).toMatchObject({ error: 'Payload too large' })
      expect(examplesOf(key, '415')?.[0], key).toMatchObject({ error: 'Unsupported media type' })
    }
  })

  test('the examples are what the API answers', async () => {
    const missing = await call('GET', '/products/42', { as: users.admin })
    expect(examplesOf('GET /products/{id}', '404')).toContainEqual(missing.body)
    const noPrice = await call('POST', '/products', { as: users.manager, body: { name: 'Drill', stock: 1 } })
    expect(examplesOf('POST /products', '400')).toContainEqual(noPrice.body)
    const forbidden = await call('DELETE', '/products/42', { as: users.customer })
    expect(examplesOf('DELETE /products/{id}', '403')).toContainEqual(forbidden.body)
    const anonymous = await call('GET', '/products')
    expect(examplesOf('GET /products', '401')).toContainEqual(anonymous.body)
    const text = await call('POST', '/categories', { as: users.manager, body: 'name=Tools', headers: { 'content-type': 'text/plain' } })
    expect(examplesOf('POST /categories', '415')).toContainEqual(text.body)
  })
})

describe('authentication, as the app enforces it', () => {
  test('an operation refused to anonymous callers lists 401 and requires basic or bearer; the others allow anonymous calls', async () => {
    let protectedCount = 0
    for (const op of operations) {
      const { status } = await probe(op)
      const { security, responses } = op.operation
      if (status === 401) {
        protectedCount++
        expect(security, op.key).toEqual(SIGNED_IN)
        expect(responses?.['401'], op.key).toBeDefined()
        // Basic shares the failed-login throttle.
        expect(responses?.['429'], op.key).toBeDefined()
      } else {
        // Public ([]), or optionally signed in ({} among the alternatives).
        expect(security?.length === 0 || security?.some((requirement) => Object.keys(requirement).length === 0), op.key).toBe(true)
      }
    }
    expect(protectedCount).toBeGreaterThan(15)
    // Public operations say so (`security: []`), as linters and generators expect.
    for (const key of ['GET /health', 'GET /health/ready']) expect(operations.find((op) => op.key === key)!.operation.security, key).toEqual([])
  })

  test('403 is listed exactly where a role rule refuses a signed-in customer', async () => {
    for (const op of operations) {
      const listed = Boolean(op.operation.responses?.['403'])
      const ruleInHandler = ROLE_RULES_IN_HANDLERS[op.key]
      const refused = ruleInHandler
        ? await (({ path, body, as }) => call(op.method, path, { as, body }))(ruleInHandler(users))
        : await probe(op, users.customer)
      expect(listed, op.key).toBe(refused.status === 403)
    }
  })
})
