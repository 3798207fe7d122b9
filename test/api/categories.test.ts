import { beforeEach, describe, expect, test } from 'bun:test'
import { call, FORBIDDEN_BODY, insertCategory, query, resetDatabase, type Seeded } from '../support/helpers'
import type { OpenApiDocument } from '../support/body'

let users: Seeded
beforeEach(async () => {
  users = await resetDatabase()
})

const isoDate = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
const as = (who: 'anonymous' | keyof Seeded) => (who === 'anonymous' ? undefined : users[who])

const categoryRows = () => query('SELECT id, name, description FROM categories ORDER BY id')

describe('POST /categories', () => {
  test('a manager creates a category → 201 with the category', async () => {
    const response = await call('POST', '/categories', { as: users.manager, body: { name: 'Tools', description: 'Hand tools.' } })
    expect(response.status).toBe(201)
    expect(response.body).toEqual({ id: 1, name: 'Tools', description: 'Hand tools.', created_at: isoDate, updated_at: isoDate })
    expect(await categoryRows()).toEqual([{ id: 1, name: 'Tools', description: 'Hand tools.' }])
  })

  test('description is optional (null); the name is trimmed; unknown fields are ignored', async () => {
    const response = await call('POST', '/categories', { as: users.admin, body: { name: '  Garden  ', id: 99, created_at: '2000-01-01T00:00:00Z' } })
    expect(response.status).toBe(201)
    expect(response.body).toEqual({ id: 1, name: 'Garden', description: null, created_at: isoDate, updated_at: isoDate })
    expect(new Date(response.body.created_at!).getFullYear()).toBeGreaterThan(2000)
    expect(await categoryRows()).toEqual([{ id: 1, name: 'Garden', description: null }])
  })

  test.each([
    ['anonymous', 401],
    ['customer', 403],
    ['manager', 201],
    ['admin', 201],
  ] as const)('as %s → %d', async (who, status) => {
    const response = await call('POST', '/categories', { as: as(who), body: { name: 'Tools' } })
    expect(response.status).toBe(status)
    if (status === 403) expect(response.body).toEqual(FORBIDDEN_BODY)
    if (status === 401) expect(response.body.error).toBe('Unauthorized')
    expect(await categoryRows()).toHaveLength(status === 201 ? 1 : 0)
  })

  test('authorisation comes before validation: a customer with a bad body gets 403', async () => {
    const response = await call('POST', '/categories', { as: users.customer, body: {} })
    expect(response.status).toBe(403)
  })

  test('a name taken in another case → 409 Conflict, nothing written', async () => {
    await insertCategory('Tools')
    const response = await call('POST', '/categories', { as: users.manager, body: { name: 'tOOLS' } })
    expect(response.status).toBe(409)
    expect(response.body).toEqual({ error: 'Conflict', message: 'A category with this name already exists.' })
    expect(await categoryRows()).toEqual([{ id: 1, name: 'Tools', description: null }])
  })

  test.each([
    [{}, 'Category name is required.'],
    [{ name: '   ' }, 'Category name must not be empty.'],
    [{ name: 'x'.repeat(101) }, 'Category name must be at most 100 characters long.'],
    [{ name: 42 }, 'Category name must be a string.'],
    [{ name: 'Tools', description: 'd'.repeat(2001) }, 'Category description must be at most 2000 characters long.'],
    [{ name: 'Tools', description: 7 }, 'Category description must be a string.'],
  ])('invalid body %j → 400 %s', async (body, message) => {
    const response = await call('POST', '/categories', { as: users.admin, body })
    expect(response.status).toBe(400)
    expect(response.body).toEqual({ error: 'Invalid input', message })
    expect(await categoryRows()).toHaveLength(0)
  })

  test('a 100-character name is accepted', async () => {
    const response = await call('POST', '/categories', { as: users.admin, body: { name: 'x'.repeat(100) } })
    expect(response.status).toBe(201)
  })
})

describe('GET /categories', () => {
  test.each([
    ['anonymous', 401],
    ['customer', 200],
    ['manager', 200],
    ['admin', 200],
  ] as const)('as %s → %d', async (who, status) => {
    const response = await call('GET', '/categories', { as: as(who) })
    expect(response.status).toBe(status)
  })

  test('ordered by name then id, paginated, with the envelope', async () => {
    const [c, a, b] = [await insertCategory('cables'), await insertCategory('adhesives', 'Glue.'), await insertCategory('brushes')]
    const response = await call('GET', '/categories?limit=2&offset=1', { as: users.customer })
    expect(response.status).toBe(200)
    expect(response.body).toEqual({
      items: [
        { id: b, name: 'brushes', description: null, created_at: isoDate, updated_at: isoDate },
        { id: c, name: 'cables', description: null, created_at: isoDate, updated_at: isoDate },
      ],
      total: 3,
      total_exact: true,
      limit: 2,
      offset: 1,
      next_cursor: null,
    })
    const first = await call('GET', '/categories', { as: users.customer })
    expect(first.body).toMatchObject({ total: 3, limit: 20, offset: 0 })
    expect(first.body.items!.map((item) => item.id)).toEqual([a, b, c])
  })

  test('an offset past the end gives an empty page with the real total', async () => {
    await insertCategory('tools')
    const response = await call('GET', '/categories?offset=5', { as: users.customer })
    expect(response.body).toEqual({ items: [], total: 1, limit: 20, offset: 5, total_exact: true, next_cursor: null })
  })

  test.each([
    ['limit=0', 'Query parameter limit must be an integer between 1 and 100.'],
    ['limit=101', 'Query parameter limit must be an integer between 1 and 100.'],
    ['offset=-1', 'Query parameter offset must be an integer between 0 and 10000.'],
  ])('?%s → 400', async (qs, message) => {
    const response = await call('GET', `/categories?${qs}`, { as: users.customer })
    expect(response.status).toBe(400)
    expect(response.body).toEqual({ error: 'Invalid input', message })
  })
})

describe('GET /categories/{id}', () => {
  test.each([
    ['anonymous', 401],
    ['customer', 200],
    ['manager', 200],
    ['admin', 200],
  ] as const)('as %s → %d', async (who, status) => {
    const id = await insertCategory('Tools', 'Hand tools.')
    const response = await call('GET', `/categories/${id}`, { as: as(who) })
    expect(response.status).toBe(status)
    if (status === 200) {
      expect(response.body).toEqual({ id, name: 'Tools', description: 'Hand tools.', created_at: isoDate, updated_at: isoDate })
    }
  })

  test('unknown id → 404 with the exact body', async () => {
    const response = await call('GET', '/categories/42', { as: users.customer })
    expect(response.status).toBe(404)
    expect(response.body).toEqual({ error: 'Category not found', message: 'The category with ID 42 does not exist.' })
  })

  test.each(['abc', '0', '-1', '1.5', '99999999999'])('bad id %s → 400', async (id) => {
    const response = await call('GET', `/categories/${id}`, { as: users.customer })
    expect(response.status).toBe(400)
    expect(response.body).toEqual({ error: 'Invalid input', message: 'Category ID must be a positive integer.' })
  })
})

describe('PUT /categories/{id}', () => {
  test.each([
    ['anonymous', 401],
    ['customer', 403],
    ['manager', 200],
    ['admin', 200],
  ] as const)('as %s → %d', async (who, status) => {
    const id = await insertCategory('Tools')
    const response = await call('PUT', `/categories/${id}`, { as: as(who), body: { name: 'Hardware' } })
    expect(response.status).toBe(status)
    if (status === 403) expect(response.body).toEqual(FORBIDDEN_BODY)
    const [row] = await categoryRows()
    expect(row.name).toBe(status === 200 ? 'Hardware' : 'Tools')
  })

  test('updates only the fields sent and moves updated_at', async () => {
    const id = await insertCategory('Tools', 'Hand tools.')
    await query("UPDATE categories SET created_at = now() - interval '1 day', updated_at = now() - interval '1 day'")
    const response = await call('PUT', `/categories/${id}`, { as: users.manager, body: { description: null } })
    expect(response.status).toBe(200)
    expect(response.body).toEqual({ id, name: 'Tools', description: null, created_at: isoDate, updated_at: isoDate })
    expect(Date.parse(response.body.updated_at!)).toBeGreaterThan(Date.parse(response.body.created_at!))
    expect(await categoryRows()).toEqual([{ id, name: 'Tools', description: null }])
  })

  test('an empty body changes nothing', async () => {
    const id = await insertCategory('Tools', 'Hand tools.')
    const before = await call('GET', `/categories/${id}`, { as: users.admin })
    const response = await call('PUT', `/categories/${id}`, { as: users.admin, body: {} })
    expect(response.status).toBe(200)
    expect(response.body).toEqual(before.body)
  })

  test("renaming to another category's name in another case → 409, nothing changed", async () => {
    await insertCategory('Tools')
    const id = await insertCategory('Garden')
    const response = await call('PUT', `/categories/${id}`, { as: users.manager, body: { name: 'TOOLS', description: 'x' } })
    expect(response.status).toBe(409)
    expect(response.body).toEqual({ error: 'Conflict', message: 'A category with this name already exists.' })
    expect(await categoryRows()).toEqual([
      { id: 1, name: 'Tools', description: null },
      { id, name: 'Garden', description: null },
    ])
  })

  test('a category may change the case of its own name', async () => {
    const id = await insertCategory('tools')
    const response = await call('PUT', `/categories/${id}`, { as: users.manager, body: { name: 'Tools' } })
    expect(response.status).toBe(200)
    expect(response.body.name).toBe('Tools')
  })

  test('unknown id → 404', async () => {
    const response = await call('PUT', '/categories/42', { as: users.manager, body: { name: 'Tools' } })
    expect(response.status).toBe(404)
    expect(response.body).toEqual({ error: 'Category not found', message: 'The category with ID 42 does not exist.' })
    expect(await categoryRows()).toHaveLength(0)
  })

  test('an invalid field → 400, nothing changed', async () => {
    const id = await insertCategory('Tools')
    const response = await call('PUT', `/categories/${id}`, { as: users.manager, body: { name: '' } })
    expect(response.status).toBe(400)
    expect(response.body).toEqual({ error: 'Invalid input', message: 'Category name must not be empty.' })
    expect(await categoryRows()).toEqual([{ id, name: 'Tools', description: null }])
  })
})

describe('DELETE /categories/{id}', () => {
  test.each([
    ['anonymous', 401],
    ['customer', 403],
    ['manager', 403],
    ['admin', 204],
  ] as const)('as %s → %d', async (who, status) => {
    const id = await insertCategory('Tools')
    const response = await call('DELETE', `/categories/${id}`, { as: as(who) })
    expect(response.status).toBe(status)
    if (status === 403) expect(response.body).toEqual(FORBIDDEN_BODY)
    if (status === 204) expect(response.text).toBe('')
    expect(await categoryRows()).toHaveLength(status === 204 ? 0 : 1)
  })

  test('unlinks the category from its products, which are kept', async () => {
    const tools = await insertCategory('Tools')
    const garden = await insertCategory('Garden')
    const [product] = await query(
      "INSERT INTO products (name, price, stock_quantity, low_stock_threshold) VALUES ('Rake', 12.5, 3, 1) RETURNING id",
    )
    await query('INSERT INTO product_categories (product_id, category_id) VALUES ($1, $2), ($1, $3)', [product.id, tools, garden])

    const response = await call('DELETE', `/categories/${tools}`, { as: users.admin })
    expect(response.status).toBe(204)
    expect(await query('SELECT product_id, category_id FROM product_categories')).toEqual([{ product_id: product.id, category_id: garden }])
    expect(await query('SELECT id FROM products')).toEqual([{ id: product.id }])
    const after = await call('GET', `/categories/${tools}`, { as: users.admin })
    expect(after.status).toBe(404)
  })

  test('unknown id → 404', async () => {
    const response = await call('DELETE', '/categories/42', { as: users.admin })
    expect(response.status).toBe(404)
    expect(response.body).toEqual({ error: 'Category not found', message: 'The category with ID 42 does not exist.' })
  })
})

describe('OpenAPI document', () => {
  test('every category route has its tag, summary, description and parameters', async () => {
    const { paths } = (await call<OpenApiDocument>('GET', '/swagger/json')).body
    for (const [path, method] of [
      ['/categories', 'post'],
      ['/categories', 'get'],
      ['/categories/{id}', 'get'],
      ['/categories/{id}', 'put'],
      ['/categories/{id}', 'delete'],
    ] as const) {
      expect(paths[path][method]).toMatchObject({ tags: ['Categories'], summary: expect.any(String), description: expect.any(String) })
    }
    expect(paths['/categories'].get.parameters.map((parameter: { name: string }) => parameter.name)).toEqual(['limit', 'offset', 'cursor'])
    expect(paths['/categories/{id}'].put.parameters).toEqual([
      {
        name: 'id',
        in: 'path',
        required: true,
        description: 'Category ID: a positive integer.',
        schema: expect.objectContaining({ type: 'string', pattern: '^[1-9]\\d{0,9}$' }),
      },
      expect.objectContaining({ name: 'if-match', in: 'header', required: false }),
    ])
  })
})

describe('case-insensitive names beyond ASCII', () => {
  test('"été" is taken once "ÉTÉ" exists → 409', async () => {
    const users = await resetDatabase()
    expect((await call('POST', '/categories', { as: users.manager, body: { name: 'ÉTÉ' } })).status).toBe(201)
    const again = await call('POST', '/categories', { as: users.manager, body: { name: 'été' } })
    expect(again.status).toBe(409)
    expect(again.body).toEqual({ error: 'Conflict', message: 'A category with this name already exists.' })
  })
})
