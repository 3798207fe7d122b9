/** ETag, If-None-Match and If-Match on products and categories (SPEC › Stock operations › Versions). */
import { beforeEach, describe, expect, test } from 'bun:test'
import { call, FORBIDDEN_BODY, insertCategory, query, resetDatabase, type Seeded } from '../support/helpers'
import type { OpenApiDocument } from '../support/body'
import { insertProduct, stockOf } from '../support/fixtures'

let users: Seeded
beforeEach(async () => {
  users = await resetDatabase()
})

const PRODUCT_CHANGED = { error: 'Precondition failed', message: 'The product has changed since it was read.' }
const CATEGORY_CHANGED = { error: 'Precondition failed', message: 'The category has changed since it was read.' }
const STRONG_TAG = /^"[!#-~]+"$/

async function etagOf(path: string): Promise<string> {
  const response = await call('GET', path, { as: users.customer })
  expect(response.status).toBe(200)
  const etag = response.headers.get('etag')
  expect(etag).toMatch(STRONG_TAG)
  return etag!
}

const productRow = (id: number) =>
  query('SELECT name, price::text, stock_quantity, version::int FROM products WHERE id = $1', [id]).then((rows) => rows[0])

describe('product ETag', () => {
  test('GET sends a strong ETag, the same while nothing changes; POST and PUT responses carry the current one', async () => {
    const created = await call('POST', '/products', { as: users.manager, body: { name: 'Drill', price: 10, stock: 5 } })
    expect(created.headers.get('etag')).toMatch(STRONG_TAG)
    const id = created.body.id
    expect(await etagOf(`/products/${id}`)).toBe(created.headers.get('etag')!)
    expect(await etagOf(`/products/${id}`)).toBe(created.headers.get('etag')!)
    const updated = await call('PUT', `/products/${id}`, { as: users.manager, body: { price: 12 } })
    expect(updated.status).toBe(200)
    expect(updated.headers.get('etag')).not.toBe(created.headers.get('etag'))
    expect(await etagOf(`/products/${id}`)).toBe(updated.headers.get('etag')!)
  })

  test('changes with every change: fields, stock, an order, a linked category renamed or deleted', async () => {
    const category = await insertCategory('Tools')
    const id = await insertProduct({ stock: 50 })
    await call('PUT', `/products/${id}`, { as: users.manager, body: { category_ids: [category] } })
    const seen = new Set<string>([await etagOf(`/products/${id}`)])
    const changes: Array<() => Promise<unknown>> = [
      () => call('PUT', `/products/${id}`, { as: users.manager, body: { name: 'Renamed' } }),
      () => call('PUT', `/products/${id}`, { as: users.manager, body: { stock: 40 } }),
      () => call('POST', '/orders', { as: users.customer, body: { product_id: id, quantity: 1 } }),
      () => call('PUT', `/categories/${category}`, { as: users.manager, body: { name: 'Hand tools' } }),
      () => call('DELETE', `/categories/${category}`, { as: users.admin }),
    ]
    for (const change of changes) {
      await change()
      const etag = await etagOf(`/products/${id}`)
      expect(seen.has(etag)).toBe(false)
      seen.add(etag)
    }
  })

  test('does not change for reads, an empty PUT, or a change of another product', async () => {
    const id = await insertProduct({ stock: 5 })
    const other = await insertProduct({ name: 'Other', stock: 5 })
    const etag = await etagOf(`/products/${id}`)
    await call('GET', `/products?limit=5`, { as: users.customer })
    const empty = await call('PUT', `/products/${id}`, { as: users.manager, body: {} })
    expect(empty.headers.get('etag')).toBe(etag)
    await call('POST', '/orders', { as: users.customer, body: { product_id: other, quantity: 1 } })
    await call('PUT', `/products/${other}`, { as: users.manager, body: { name: 'Changed' } })
    expect(await etagOf(`/products/${id}`)).toBe(etag)
  })
})

describe('GET /products/{id} with If-None-Match', () => {
  test('the current tag → 304 with the ETag and no body', async () => {
    const id = await insertProduct({ stock: 5 })
    const etag = await etagOf(`/products/${id}`)
    for (const header of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const response = await call('GET', `/products/${id}`, { as: users.customer, headers: { 'if-none-match': header } })
      expect(response.status).toBe(304)
      expect(response.text).toBe('')
      expect(response.headers.get('etag')).toBe(etag)
    }
  })

  test('a stale or unreadable tag → 200 with the product', async () => {
    const id = await insertProduct({ stock: 5 })
    const stale = await etagOf(`/products/${id}`)
    await call('PUT', `/products/${id}`, { as: users.manager, body: { stock: 4 } })
    const current = await etagOf(`/products/${id}`)
    for (const header of [stale, 'not-a-tag', '']) {
      const response = await call('GET', `/products/${id}`, { as: users.customer, headers: { 'if-none-match': header } })
      expect(response.status).toBe(200)
      expect(response.body.stock).toBe(4)
      expect(response.headers.get('etag')).toBe(current)
    }
  })

  test('authentication and existence come first: 401 and 404 as without the header', async () => {
    const id = await insertProduct()
    const etag = await etagOf(`/products/${id}`)
    expect((await call('GET', `/products/${id}`, { headers: { 'if-none-match': etag } })).status).toBe(401)
    expect((await call('GET', '/products/999', { as: users.customer, headers: { 'if-none-match': '*' } })).status).toBe(404)
  })
})

describe('PUT /products/{id} with If-Match', () => {
  test('the current tag → 200, the change applied, the new ETag sent', async () => {
    const id = await insertProduct({ stock: 5 })
    for (const header of [await etagOf(`/products/${id}`), '*']) {
      const response = await call('PUT', `/products/${id}`, { as: users.manager, body: { price: 12.5 }, headers: { 'if-match': header } })
      expect(response.status).toBe(200)
      expect(response.body.price).toBe(12.5)
      expect(response.headers.get('etag')).toBe(await etagOf(`/products/${id}`))
    }
    const listed = await etagOf(`/products/${id}`)
    const response = await call('PUT', `/products/${id}`, { as: users.manager, body: { name: 'Listed' }, headers: { 'if-match': `"x", ${listed}` } })
    expect(response.status).toBe(200)
  })

  test('a stale tag → 412 Precondition failed, nothing written (fields, stock, ledger, categories, version)', async () => {
    const category = await insertCategory('Tools')
    const id = await insertProduct({ name: 'Drill', stock: 5 })
    const stale = await etagOf(`/products/${id}`)
    await call('POST', '/orders', { as: users.customer, body: { product_id: id, quantity: 1 } })
    const before = await productRow(id)
    const movements = await query('SELECT count(*)::int AS n FROM stock_movements')
    const response = await call('PUT', `/products/${id}`, {
      as: users.manager,
      body: { name: 'Mine', stock: 20, category_ids: [category] },
      headers: { 'if-match': stale },
    })
    expect(response.status).toBe(412)
    expect(response.body).toEqual(PRODUCT_CHANGED)
    expect(await productRow(id)).toEqual(before)
    expect(await query('SELECT count(*)::int AS n FROM stock_movements')).toEqual(movements)
    expect(await query('SELECT * FROM product_categories')).toEqual([])
    expect(await stockOf(id)).toEqual({ stock: 4, ledger: 4 })
  })

  test('If-Match compares strongly: the weak form of the current tag, or an unreadable header → 412', async () => {
    const id = await insertProduct({ stock: 5 })
    const etag = await etagOf(`/products/${id}`)
    for (const header of [`W/${etag}`, etag.slice(1, -1), '']) {
      const response = await call('PUT', `/products/${id}`, { as: users.manager, body: { stock: 1 }, headers: { 'if-match': header } })
      expect(response.status).toBe(412)
      expect(response.body).toEqual(PRODUCT_CHANGED)
    }
    expect(await stockOf(id)).toEqual({ stock: 5, ledger: 5 })
  })

  test('a stale tag with an empty body is still 412', async () => {
    const id = await insertProduct({ stock: 5 })
    const stale = await etagOf(`/products/${id}`)
    await call('PUT', `/products/${id}`, { as: users.manager, body: { stock: 3 } })
    const response = await call('PUT', `/products/${id}`, { as: users.manager, body: {}, headers: { 'if-match': stale } })
    expect(response.status).toBe(412)
  })

  test('roles and existence come first: a customer → 403, a missing product → 404', async () => {
    const id = await insertProduct({ stock: 5 })
    const response = await call('PUT', `/products/${id}`, { as: users.customer, body: { stock: 1 }, headers: { 'if-match': '"stale"' } })
    expect(response.status).toBe(403)
    expect(response.body).toEqual(FORBIDDEN_BODY)
    const missing = await call('PUT', '/products/999', { as: users.manager, body: { stock: 1 }, headers: { 'if-match': '"stale"' } })
    expect(missing.status).toBe(404)
  })

  test('lost update: two clients PUT from the same read at once → one 200, one 412, the winner in the database', async () => {
    for (let round = 0; round < 5; round++) {
      const id = await insertProduct({ name: 'Drill', stock: 10 })
      const etag = await etagOf(`/products/${id}`)
      const [first, second] = await Promise.all(
        [
          { name: 'Alice', stock: 7 },
          { name: 'Bob', stock: 3 },
        ].map((body) => call('PUT', `/products/${id}`, { as: users.manager, body, headers: { 'if-match': etag } })),
      )
      expect([first!.status, second!.status].sort()).toEqual([200, 412])
      const winner = first!.status === 200 ? first! : second!
      const loser = first!.status === 200 ? second! : first!
      expect(loser.body).toEqual(PRODUCT_CHANGED)
      const [row] = await query('SELECT name, stock_quantity FROM products WHERE id = $1', [id])
      expect(row).toEqual({ name: winner.body.name, stock_quantity: winner.body.stock })
      expect(await stockOf(id)).toEqual({ stock: winner.body.stock!, ledger: winner.body.stock! })
      expect(await etagOf(`/products/${id}`)).toBe(winner.headers.get('etag')!)
    }
  })
})

describe('category ETag', () => {
  test('GET and PUT carry the ETag; it changes with the category, and If-None-Match gives 304', async () => {
    const created = await call('POST', '/categories', { as: users.manager, body: { name: 'Tools' } })
    expect(created.status).toBe(201)
    const id = created.body.id
    const etag = await etagOf(`/categories/${id}`)
    expect(created.headers.get('etag')).toBe(etag)
    const notModified = await call('GET', `/categories/${id}`, { as: users.customer, headers: { 'if-none-match': etag } })
    expect(notModified.status).toBe(304)
    expect(notModified.text).toBe('')
    expect(notModified.headers.get('etag')).toBe(etag)
    const updated = await call('PUT', `/categories/${id}`, { as: users.manager, body: { description: 'Hand tools.' }, headers: { 'if-match': etag } })
    expect(updated.status).toBe(200)
    expect(updated.headers.get('etag')).not.toBe(etag)
    expect(await etagOf(`/categories/${id}`)).toBe(updated.headers.get('etag')!)
    const unchanged = await call('PUT', `/categories/${id}`, { as: users.manager, body: {} })
    expect(unchanged.headers.get('etag')).toBe(updated.headers.get('etag'))
    expect((await call('GET', `/categories/${id}`, { as: users.customer, headers: { 'if-none-match': etag } })).status).toBe(200)
  })

  test('a stale If-Match → 412 Precondition failed, nothing written', async () => {
    const id = await insertCategory('Tools')
    const stale = await etagOf(`/categories/${id}`)
    await call('PUT', `/categories/${id}`, { as: users.manager, body: { description: 'First.' } })
    const response = await call('PUT', `/categories/${id}`, { as: users.manager, body: { name: 'Mine' }, headers: { 'if-match': stale } })
    expect(response.status).toBe(412)
    expect(response.body).toEqual(CATEGORY_CHANGED)
    expect(await query('SELECT name, description, version::int FROM categories')).toEqual([{ name: 'Tools', description: 'First.', version: 2 }])
  })

  test('lost update: two clients PUT from the same read at once → one 200, one 412', async () => {
    const id = await insertCategory('Tools')
    const etag = await etagOf(`/categories/${id}`)
    const responses = await Promise.all(
      ['Alice', 'Bob'].map((name) => call('PUT', `/categories/${id}`, { as: users.manager, body: { name }, headers: { 'if-match': etag } })),
    )
    expect(responses.map((response) => response.status).sort()).toEqual([200, 412])
    const winner = responses.find((response) => response.status === 200)!
    expect(await query('SELECT name FROM categories')).toEqual([{ name: winner.body.name }])
  })
})

describe('OpenAPI', () => {
  test('documents the ETag header, If-None-Match and 304 on reads, If-Match and 412 on writes', async () => {
    const { body: document } = await call<OpenApiDocument>('GET', '/swagger/json')
    for (const [path, resource] of [
      ['/products', 'product'],
      ['/categories', 'category'],
    ] as const) {
      const read = document.paths[`${path}/{id}`].get
      expect(read.parameters).toContainEqual(expect.objectContaining({ name: 'if-none-match', in: 'header', required: false }))
      expect(read.responses['200'].headers.ETag.description).toContain('entity tag')
      expect(read.responses['304']).toMatchObject({ headers: { ETag: expect.any(Object) } })
      expect(read.responses['304'].content).toBeUndefined()
      const write = document.paths[`${path}/{id}`].put
      expect(write.parameters).toContainEqual(expect.objectContaining({ name: 'if-match', in: 'header', required: false }))
      expect(write.responses['200'].headers.ETag).toBeDefined()
      expect(write.responses['412'].content['application/json'].schema.examples).toEqual([
        { error: 'Precondition failed', message: `The ${resource} has changed since it was read.` },
      ])
      expect(document.paths[path].post.responses['201'].headers.ETag).toBeDefined()
      expect(JSON.stringify(document)).not.toContain('x-sends-etag')
    }
  })
})
