/**
 * Fixed examples of what the fuzzers (endpoints.test.ts, model.test.ts) found, kept as plain
 * tests so that the fixes stay in place whatever seed a later run draws.
 */
import { beforeEach, describe, expect, test } from 'bun:test'
import { createApp } from '../../src/app'
import { dataSource } from '../../src/db/data-source'
import { insertProduct } from '../support/fixtures'
import { call, query, resetDatabase, type Seeded } from '../support/helpers'

let users: Seeded
beforeEach(async () => {
  users = await resetDatabase()
})

const invalid = (message: string) => ({ error: 'Invalid input', message })
const unstorable = (label: string) => invalid(`${label} must not contain U+0000 or unpaired surrogate characters.`)
const INVALID_CREDENTIALS = { error: 'Unauthorized', message: 'Invalid username or password.' }
const count = async (table: string) => (await query(`SELECT count(*)::int AS n FROM ${table}`))[0].n
const basic = (username: string, password: string) => ({ header: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` })

describe('text PostgreSQL cannot store (was a 500: "invalid byte sequence for encoding UTF8: 0x00")', () => {
  test.each([
    ['POST', '/categories', { name: 'Too\u0000ls' }, 'Category name'],
    ['POST', '/categories', { name: 'Tools', description: 'Hand\u0000tools' }, 'Category description'],
    ['POST', '/products', { name: 'Dr\u0000ill', price: 1, stock: 1 }, 'Product name'],
    ['POST', '/products', { name: 'Drill', description: '\u0000', price: 1, stock: 1 }, 'Product description'],
    // An unpaired surrogate would have been stored as U+FFFD: refused rather than altered.
    ['POST', '/products', { name: 'Drill \ud800', price: 1, stock: 1 }, 'Product name'],
  ] as const)('%s %s with U+0000 or a lone surrogate in a text field → 400, nothing written', async (method, path, body, label) => {
    const response = await call(method, path, { as: users.manager, body })
    expect(response.status).toBe(400)
    expect(response.body).toEqual(unstorable(label))
    expect(await count('categories')).toBe(0)
    expect(await count('products')).toBe(0)
  })

  test('PUT /products/{id} with U+0000 in the description → 400, the product unchanged', async () => {
    const id = await insertProduct({ name: 'Drill', stock: 5 })
    const response = await call('PUT', `/products/${id}`, { as: users.manager, body: { description: 'x\u0000', stock: 1 } })
    expect(response.status).toBe(400)
    expect(response.body).toEqual(unstorable('Product description'))
    expect(await query('SELECT description, stock_quantity FROM products')).toEqual([{ description: null, stock_quantity: 5 }])
  })

  test('GET /products?q= with U+0000 → 400', async () => {
    const response = await call('GET', '/products?q=%00', { as: users.customer })
    expect(response.status).toBe(400)
    expect(response.body).toEqual(unstorable('Query parameter q'))
  })

  test('other Unicode is stored exactly, combining marks, emoji and control characters included', async () => {
    const name = 'Bohrmaschine e\u0301 💥 \u202e\u0007'
    const response = await call('POST', '/products', { as: users.manager, body: { name, description: 'line\nbreak', price: 1, stock: 1 } })
    expect(response.status).toBe(201)
    expect(response.body).toMatchObject({ name, description: 'line\nbreak' })
  })

  test('a database refusal of such text anywhere else is a 400, not a 500 (the error handler backstop)', async () => {
    const app = createApp().post('/store', () => dataSource.query('SELECT $1::text', ['\u0000']))
    const response = await app.handle(new Request('http://localhost/store', { method: 'POST' }))
    expect(response.status).toBe(400)
    expect(await response.json()).toEqual(invalid('The request contains a character that cannot be stored (such as U+0000).'))
  })
})

describe('credentials no account can have (were a 500 with U+0000; unbounded Basic usernames filled the throttle)', () => {
  test('POST /login with U+0000 in the username → 401', async () => {
    const response = await call('POST', '/login', { body: { username: 'admin\u0000', password: 'admin-password' } })
    expect(response.status).toBe(401)
    expect(response.body).toEqual(INVALID_CREDENTIALS)
  })

  test('Basic credentials with U+0000 in the username → 401', async () => {
    const response = await call('GET', '/products', { as: basic('admin\u0000', 'admin-password') })
    expect(response.status).toBe(401)
    expect(response.body).toEqual(INVALID_CREDENTIALS)
    expect(response.headers.get('www-authenticate')).toContain('Basic realm="inventory"')
  })

  test('an impossible username or an over-long password is refused without a throttle entry: never 429', async () => {
    const huge = 'x'.repeat(10_000)
    for (let attempt = 0; attempt < 7; attempt++) {
      const response = await call('GET', '/products', { as: basic(huge, 'whatever') })
      expect(response.status).toBe(401)
      expect(response.body).toEqual(INVALID_CREDENTIALS)
      const long = await call('POST', '/login', { as: basic('admin', 'p'.repeat(129)) })
      expect(long.status).toBe(401)
    }
    // The real account is not locked out by any of it.
    expect((await call('GET', '/products', { as: users.admin })).status).toBe(200)
  })
})

describe('validation messages are one sentence of ours, never the library default', () => {
  test('a path id that is not valid percent-encoding → "must be a positive integer"', async () => {
    for (const path of ['/products/%E0%A4%A', '/products/%', '/orders/%zz']) {
      const response = await call('GET', path, { as: users.admin })
      expect(response.status).toBe(400)
      const label = path.startsWith('/orders') ? 'Order ID' : 'Product ID'
      expect(response.body).toEqual(invalid(`${label} must be a positive integer.`))
    }
  })

  test('a repeated query parameter → the parameter\'s own message', async () => {
    const limit = await call('GET', '/orders?limit=1&limit=2', { as: users.admin })
    expect(limit.status).toBe(400)
    expect(limit.body).toEqual(invalid('Query parameter limit must be an integer between 1 and 100.'))
    const price = await call('GET', '/products?min_price=1&min_price=2', { as: users.admin })
    expect(price.status).toBe(400)
    expect(price.body).toEqual(
      invalid('Query parameter min_price must be a number between 0 and 9999999999.99 with at most 2 decimal places.'),
    )
  })
})
