/**
 * Lists at any size, as a client pages them: bounded totals, keyset cursors (opaque, bound to
 * their query, stable under concurrent writes), the offset cap, and visibility by role.
 */
import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { config } from '../../src/config'
import { insertProduct } from '../support/fixtures'
import { call, insertCategory, query, resetDatabase, type Seeded, type TestUser } from '../support/helpers'

let users: Seeded
beforeEach(async () => {
  users = await resetDatabase()
})

const defaultCountLimit = config.LIST_COUNT_LIMIT
afterEach(() => {
  config.LIST_COUNT_LIMIT = defaultCountLimit
})

const invalid = (message: string) => ({ error: 'Invalid input', message })
const BAD_CURSOR = invalid('Query parameter cursor is malformed, altered, or belongs to another query.')

async function insertProducts(count: number, price: (i: number) => string = () => '1.00'): Promise<number[]> {
  const ids: number[] = []
  for (let i = 0; i < count; i++) ids.push(await insertProduct({ name: `Item ${i}`, price: price(i), stock: 5 }))
  return ids
}

/** Follows next_cursor from the first page to the last; `between` runs before each next page. */
async function walk(path: string, as: TestUser, between: () => Promise<void> = async () => {}) {
  const items: Array<{ id: number; price?: number }> = []
  const pages: Array<{ offset: number; count: number }> = []
  let url = path
  for (let page = 0; page < 1000; page++) {
    const response = await call('GET', url, { as })
    expect(response.status, `${url}: ${response.text}`).toBe(200)
    items.push(...(response.body.items as Array<{ id: number; price?: number }>))
    pages.push({ offset: response.body.offset!, count: response.body.items!.length })
    const cursor = response.body.next_cursor
    if (cursor === null) return { items, pages }
    await between()
    url = `${path}${path.includes('?') ? '&' : '?'}cursor=${encodeURIComponent(cursor!)}`
  }
  throw new Error('the walk did not end')
}

describe('totals', () => {
  test('exact below LIST_COUNT_LIMIT: total counts every match, total_exact is true', async () => {
    await insertProducts(7)
    const response = await call('GET', '/products?limit=2', { as: users.customer })
    expect(response.body).toMatchObject({ total: 7, total_exact: true, limit: 2, offset: 0 })
    expect(response.body.next_cursor).toBeString()
  })

  test('above a lowered LIST_COUNT_LIMIT: total is the limit and total_exact is false, on every list', async () => {
    config.LIST_COUNT_LIMIT = 3
    const [first] = await insertProducts(5)
    for (let i = 0; i < 4; i++) await call('POST', '/orders', { as: users.customer, body: { product_id: first, quantity: 1 } })
    await insertCategory('a'), await insertCategory('b'), await insertCategory('c'), await insertCategory('d')
    for (const path of ['/products', '/orders', `/products/${first}/stock-movements`, '/users', '/categories']) {
      const response = await call('GET', path, { as: users.admin })
      expect(response.body, path).toMatchObject({ total: 3, total_exact: false })
      expect(response.body.items!.length, path).toBeGreaterThan(3)
    }
    // Exactly at the limit the count is still exact.
    config.LIST_COUNT_LIMIT = 5
    expect((await call('GET', '/products', { as: users.admin })).body).toMatchObject({ total: 5, total_exact: true })
  })

  test('an empty list: total 0, exact, no next page', async () => {
    expect((await call('GET', '/products', { as: users.customer })).body).toEqual({
      items: [],
      total: 0,
      total_exact: true,
      limit: 20,
      offset: 0,
      next_cursor: null,
    })
  })
})

describe('cursors', () => {
  test('walking by cursor returns the same items, in the same order, as one big page; only the last page has no cursor', async () => {
    await insertProducts(23, (i) => `${i % 4}.50`)
    for (const sort of ['', '&sort=price', '&sort=-price', '&sort=name', '&sort=-name', '&sort=-stock', '&sort=created_at', '&sort=-created_at']) {
      const all = await call('GET', `/products?limit=100${sort}`, { as: users.customer })
      const { items, pages } = await walk(`/products?limit=5${sort}`, users.customer)
      expect(items.map((item) => item.id), sort).toEqual(all.body.items!.map((item) => item.id!))
      expect(pages.map((page) => page.offset), sort).toEqual([0, 5, 10, 15, 20])
    }
  })

  test('the limit may change from one cursor page to the next', async () => {
    await insertProducts(6)
    const first = await call('GET', '/products?limit=2', { as: users.customer })
    const next = await call('GET', `/products?limit=3&cursor=${first.body.next_cursor}`, { as: users.customer })
    expect(next.body.items!.map((item) => item.id)).toEqual([3, 4, 5])
    expect(next.body).toMatchObject({ limit: 3, offset: 2, total: 6 })
  })

  test('an offset page carries a cursor that continues after it', async () => {
    await insertProducts(6)
    const page = await call('GET', '/products?limit=2&offset=3', { as: users.customer })
    const next = await call('GET', `/products?limit=2&cursor=${page.body.next_cursor}`, { as: users.customer })
    expect(next.body.items!.map((item) => item.id)).toEqual([6])
    expect(next.body).toMatchObject({ offset: 5, next_cursor: null })
  })

  test('while rows are inserted and deleted concurrently, no item that existed throughout is skipped or repeated, and the order holds', async () => {
    // Prices with many ties: a descending sort whose ties go by ascending id.
    const stable = await insertProducts(60, (i) => `${i % 5}.00`)
    const volatile = await insertProducts(30, (i) => `${i % 5}.00`)
    let inserted = 0
    // Before every next page: new products at every price (some sort before the cursor, some after) and deleted ones.
    const { items } = await walk('/products?limit=7&sort=-price', users.customer, async () => {
      await Promise.all([
        insertProduct({ name: `New ${inserted++}`, price: `${inserted % 5}.00`, stock: 1 }),
        insertProduct({ name: `New ${inserted++}`, price: `${inserted % 5}.00`, stock: 1 }),
        call('DELETE', `/products/${volatile.pop()}`, { as: users.admin }),
      ])
    })
    expect(inserted).toBeGreaterThan(10)
    expect(volatile.length).toBeLessThan(25)
    const ids = items.map((item) => item.id)
    expect(new Set(ids).size).toBe(ids.length)
    expect(ids).toEqual(expect.arrayContaining(stable))
    // Every item comes strictly after the one before it in the sort order: price descending, then id.
    for (let i = 1; i < items.length; i++) {
      const [before, after] = [items[i - 1]!, items[i]!]
      expect(before.price! > after.price! || (before.price === after.price && before.id < after.id), `${i}`).toBe(true)
    }
  })

  test('the newest-first lists keep their order under concurrent orders', async () => {
    const productId = await insertProduct({ stock: 1000 })
    for (let i = 0; i < 25; i++) await call('POST', '/orders', { as: users.customer, body: { product_id: productId, quantity: 1 } })
    const before = (await query<{ id: number }>('SELECT id FROM orders')).map((row) => row.id)
    const { items } = await walk('/orders?limit=4', users.admin, async () => {
      await call('POST', '/orders', { as: users.other, body: { product_id: productId, quantity: 1 } })
    })
    const ids = items.map((item) => item.id)
    expect(ids).toEqual([...ids].sort((a, b) => b - a))
    expect(new Set(ids).size).toBe(ids.length)
    expect(ids).toEqual(expect.arrayContaining(before))
  })

  test('a search pages like the list it filters: by cursor and by offset, below the count limit and past it', async () => {
    // "Lamp" in 15 of 23 names, with price and stock ties; the others must never appear.
    for (let i = 0; i < 23; i++) {
      const name = i % 5 < 3 ? `Desk lamp ${i % 7}` : `Chair ${i}`
      await query('INSERT INTO products (name, price, stock_quantity, low_stock_threshold) VALUES ($1, $2, $3, 10)', [name, `${i % 4}.50`, i % 3])
    }
    for (const sort of ['', '&sort=price', '&sort=-price', '&sort=name', '&sort=-name', '&sort=stock', '&sort=-stock', '&sort=-created_at']) {
      // The same order as the whole catalogue's, through the ordinary list, with the other names left out.
      const catalogue = await call('GET', `/products?limit=100${sort}`, { as: users.customer })
      const expected = catalogue.body.items!.filter((item) => item.name!.includes('lamp')).map((item) => item.id!)
      expect(expected.length).toBe(15)
      // 15 matches: read once up to a limit of 20 and of 15; found as the unfiltered list is past a limit of 14 and of 5.
      for (const countLimit of [20, 15, 14, 5]) {
        config.LIST_COUNT_LIMIT = countLimit
        const label = `${sort} limit ${countLimit}`
        const { items, pages } = await walk(`/products?q=LAMP&limit=4${sort}`, users.customer)
        expect(items.map((item) => item.id), label).toEqual(expected)
        expect(pages.map((page) => page.offset), label).toEqual([0, 4, 8, 12])
        const byOffset = await call('GET', `/products?q=lamp&limit=5&offset=3${sort}`, { as: users.customer })
        expect(byOffset.body.items!.map((item) => item.id), label).toEqual(expected.slice(3, 8))
        expect(byOffset.body, label).toMatchObject({ total: Math.min(15, countLimit), total_exact: countLimit >= 15 })
      }
      config.LIST_COUNT_LIMIT = defaultCountLimit
    }
  })

  test("a category pages in the catalogue's order for every sort, and follows a product's new name, price or categories at once (its total with a price range too)", async () => {
    const tools = await insertCategory('tools')
    const garden = await insertCategory('garden')
    const ids: number[] = []
    for (let i = 0; i < 14; i++) {
      // 8 of 14 in tools (some in garden too), with name and price ties; the rest in garden or in none.
      const categoryIds = i % 7 === 6 ? [] : i % 3 === 2 ? [garden] : [tools, garden].slice(0, 1 + (i % 2))
      const body = { name: `Item ${(i * 5) % 7}`, price: (i % 4) + 0.5, stock: i, category_ids: categoryIds }
      const created = await call('POST', '/products', { as: users.admin, body })
      expect(created.status, created.text).toBe(201)
      ids.push(created.body.id!)
    }
    const inTools = async (label: string, count: number) => {
      for (const sort of ['', '&sort=name', '&sort=-name', '&sort=price', '&sort=-price', '&sort=-stock', '&sort=created_at', '&sort=-created_at']) {
        // The same order as the whole catalogue's, with the products outside the category left out.
        const catalogue = await call('GET', `/products?limit=100${sort}`, { as: users.customer })
        const expected = catalogue.body.items!.filter((item) => item.categories!.some((category) => category.id === tools)).map((item) => item.id!)
        expect(expected.length, label).toBe(count)
        const { items } = await walk(`/products?category_id=${tools}&limit=3${sort}`, users.customer)
        expect(items.map((item) => item.id), `${label}${sort}`).toEqual(expected)
      }
      // With a price range the total is counted from the links' copy of the price: it follows at once too.
      const ranged = await call('GET', `/products?category_id=${tools}&min_price=1&max_price=2.5&limit=100`, { as: users.customer })
      const inRange = (await call('GET', '/products?min_price=1&max_price=2.5&limit=100', { as: users.customer })).body.items!.filter((item) =>
        item.categories!.some((category) => category.id === tools),
      )
      expect(inRange.length, label).toBeGreaterThan(0)
      expect({ total: ranged.body.total, ids: ranged.body.items!.map((item) => item.id) }, label).toEqual({ total: inRange.length, ids: inRange.map((item) => item.id) })
    }
    await inTools('as created', 8)
    // The cheapest becomes the dearest and the first name the last; one product joins, another leaves, one is deleted.
    const [first, second] = (await call('GET', `/products?category_id=${tools}&limit=2&sort=price`, { as: users.customer })).body.items!
    await call('PUT', `/products/${first!.id}`, { as: users.manager, body: { price: 99 } })
    await call('PUT', `/products/${second!.id}`, { as: users.manager, body: { name: 'Zz last' } })
    await query('UPDATE products SET name = $2, price = 0 WHERE id = $1', [ids[1], 'Aa first'])
    await call('PUT', `/products/${ids[2]}`, { as: users.manager, body: { category_ids: [tools] } })
    await call('PUT', `/products/${ids[0]}`, { as: users.manager, body: { category_ids: [garden] } })
    await call('DELETE', `/products/${ids[3]}`, { as: users.admin })
    await inTools('after the changes', 7)
    const stale = await query(
      `SELECT pc.product_id FROM product_categories pc JOIN products p ON p.id = pc.product_id
       WHERE (pc.name, pc.price, pc.created_at) IS DISTINCT FROM (p.name, p.price, p.created_at)`,
    )
    expect(stale).toEqual([])
  })

  test("a category's in_stock and low_stock follow the stock from every path at once: order, adjustment, bulk, edit, import, cancelled bulk", async () => {
    const tools = await insertCategory('tools')
    const garden = await insertCategory('garden')
    // Stock 10, threshold 5 each: in stock, not low.
    const skus = ['A', 'B', 'C', 'D', 'E', 'F']
    const ids: Record<string, number> = {}
    for (const sku of skus) {
      const created = await call('POST', '/products', { as: users.admin, body: { sku, name: `Item ${sku}`, price: 1, stock: 10, low_stock_threshold: 5, category_ids: [tools, garden] } })
      expect(created.status, created.text).toBe(201)
      ids[sku] = created.body.id!
    }
    const filtered = async (filter: string) => {
      const response = await call('GET', `/products?category_id=${tools}&${filter}&limit=100`, { as: users.customer })
      expect(response.status, response.text).toBe(200)
      return { total: response.body.total, skus: response.body.items!.map((item) => item.sku) }
    }
    const expectFlags = async (low: string[], out: string[]) => {
      const rest = (of: string[]) => skus.filter((sku) => !of.includes(sku))
      for (const sort of ['', '&sort=name', '&sort=-price', '&sort=stock', '&sort=created_at']) {
        expect(await filtered(`low_stock=true${sort}`), `low${sort}`).toMatchObject({ total: low.length })
        expect((await filtered(`low_stock=true${sort}`)).skus.toSorted(), `low${sort}`).toEqual(low)
        expect((await filtered(`low_stock=false${sort}`)).skus.toSorted(), `not low${sort}`).toEqual(rest(low))
        expect((await filtered(`in_stock=false${sort}`)).skus.toSorted(), `out${sort}`).toEqual(out)
        expect((await filtered(`in_stock=true&low_stock=true${sort}`)).skus.toSorted(), `in and low${sort}`).toEqual(rest(out).filter((sku) => low.includes(sku)))
      }
      expect(await filtered('in_stock=true'), 'in').toEqual({ total: rest(out).length, skus: rest(out) })
      // The links' flags are the products' own, in both categories.
      const stale = await query(
        `SELECT pc.product_id FROM product_categories pc JOIN products p ON p.id = pc.product_id
         WHERE (pc.in_stock, pc.low_stock) IS DISTINCT FROM (p.stock_quantity > 0, p.stock_quantity < p.low_stock_threshold)`,
      )
      expect(stale).toEqual([])
    }
    await expectFlags([], [])
    // A to 4 (low) by an order; B to 0 (low and out) by an adjustment; C to 3 and D to 0 by a bulk; E's threshold raised past its stock.
    expect((await call('POST', '/orders', { as: users.customer, body: { product_id: ids.A, quantity: 6 } })).status).toBe(201)
    expect((await call('POST', `/products/${ids.B}/stock-adjustments`, { as: users.manager, body: { delta: -10, reason: 'loss' } })).status).toBe(201)
    const bulk = { items: [{ sku: 'C', delta: -7, reason: 'damage' }, { product_id: ids.D, delta: -10, reason: 'loss' }] }
    expect((await call('POST', '/stock-adjustments', { as: users.manager, body: bulk })).status).toBe(201)
    expect((await call('PUT', `/products/${ids.E}`, { as: users.manager, body: { low_stock_threshold: 11 } })).status).toBe(200)
    await expectFlags(['A', 'B', 'C', 'D', 'E'], ['B', 'D'])
    // Back: A restocked by an edit of its stock, B and E by an import; a bulk whose last item fails changes nothing.
    expect((await call('PUT', `/products/${ids.A}`, { as: users.manager, body: { stock: 50 } })).status).toBe(200)
    const imported = await call('POST', '/products/import', {
      as: users.manager,
      headers: { 'content-type': 'text/csv' },
      body: 'sku,name,description,price,stock,low_stock_threshold,categories\r\nB,Item B,,1,20,5,tools|garden\r\nE,Item E,,1,10,5,tools|garden\r\n',
    })
    expect(imported.status, imported.text).toBe(200)
    const failing = { items: [{ sku: 'C', delta: 100, reason: 'restock' }, { sku: 'F', delta: -11, reason: 'loss' }] }
    expect((await call('POST', '/stock-adjustments', { as: users.manager, body: failing })).status).toBe(400)
    await expectFlags(['C', 'D'], ['D'])
  })

  test('every list pages by cursor to the same items as by offset', async () => {
    const productId = await insertProduct({ stock: 100, threshold: 1000 })
    // Each drop below the threshold of 1000 is an alert.
    for (let i = 0; i < 5; i++) {
      await call('PUT', `/products/${productId}`, { as: users.admin, body: { stock: 2000 } })
      await call('PUT', `/products/${productId}`, { as: users.admin, body: { stock: i } })
    }
    for (const name of ['b', 'a', 'c', 'e', 'd']) await insertCategory(name)
    for (let i = 0; i < 5; i++) await call('POST', '/orders', { as: users.customer, body: { product_id: productId, quantity: 1 } })
    for (const path of ['/users', '/categories', '/alerts', `/products/${productId}/stock-movements`, '/orders']) {
      const all = await call('GET', `${path}?limit=100`, { as: users.admin })
      expect(all.body.items!.length, path).toBeGreaterThan(2)
      const { items } = await walk(`${path}?limit=2`, users.admin)
      expect(items.map((item) => item.id), path).toEqual(all.body.items!.map((item) => item.id!))
    }
  })
})

describe('bad cursors and offsets → 400', () => {
  async function cursorOf(path: string, as: TestUser = users.admin): Promise<string> {
    const response = await call('GET', path, { as })
    expect(response.body.next_cursor, path).toBeString()
    return response.body.next_cursor!
  }

  test('malformed, tampered, or from another query', async () => {
    await insertProducts(5, (i) => `${i}.00`)
    const category = await insertCategory('tools')
    await query('INSERT INTO product_categories (product_id, category_id) SELECT id, $1 FROM products', [category])
    const cursor = await cursorOf('/products?limit=2&sort=price')
    const [payload, signature] = cursor.split('.') as [string, string]
    const forged = Buffer.from(JSON.stringify(['0.00', 1, 0])).toString('base64url')
    const flip = (text: string) => (text[0] === 'A' ? 'B' : 'A') + text.slice(1)
    const cases: Array<[string, string]> = [
      ['not a cursor', '/products?sort=price&cursor=abc'],
      ['three parts', `/products?sort=price&cursor=${cursor}.x`],
      ['a changed payload', `/products?sort=price&cursor=${flip(payload)}.${signature}`],
      ['a forged payload, old signature', `/products?sort=price&cursor=${forged}.${signature}`],
      ['a changed signature', `/products?sort=price&cursor=${payload}.${flip(signature)}`],
      ['no signature', `/products?sort=price&cursor=${payload}.`],
      ['another sort', `/products?sort=-price&cursor=${cursor}`],
      ['no sort', `/products?cursor=${cursor}`],
      ['another filter', `/products?sort=price&in_stock=true&cursor=${cursor}`],
      ['another endpoint', `/orders?cursor=${cursor}`],
      ['too long', `/products?sort=price&cursor=${'a'.repeat(600)}`],
    ]
    for (const [label, path] of cases) {
      const response = await call('GET', path, { as: users.admin })
      expect([label, response.status, response.body]).toEqual([label, 400, BAD_CURSOR])
    }
    // The untouched cursor still works, with the filter it was made for.
    expect((await call('GET', `/products?sort=price&cursor=${cursor}`, { as: users.admin })).status).toBe(200)
    const categoryCursor = await cursorOf(`/products?limit=2&category_id=${category}`)
    expect((await call('GET', `/products?category_id=${category + 1}&cursor=${categoryCursor}`, { as: users.admin })).body).toEqual(BAD_CURSOR)
  })

  test('a movements cursor of one product does not page another', async () => {
    const [a, b] = [await insertProduct({ stock: 1 }), await insertProduct({ stock: 1 })]
    for (const id of [a, b]) for (let i = 2; i < 5; i++) await call('PUT', `/products/${id}`, { as: users.admin, body: { stock: i } })
    const cursor = await cursorOf(`/products/${a}/stock-movements?limit=1`)
    expect((await call('GET', `/products/${b}/stock-movements?cursor=${cursor}`, { as: users.admin })).body).toEqual(BAD_CURSOR)
  })

  test('cursor with offset', async () => {
    await insertProducts(3)
    const cursor = await cursorOf('/products?limit=1')
    for (const offset of ['0', '1']) {
      const response = await call('GET', `/products?limit=1&offset=${offset}&cursor=${cursor}`, { as: users.customer })
      expect([response.status, response.body]).toEqual([400, invalid('Query parameters cursor and offset cannot be used together.')])
    }
  })

  test('offset up to 10,000; beyond, use the cursor', async () => {
    expect((await call('GET', '/products?offset=10000', { as: users.customer })).body).toMatchObject({ items: [], offset: 10000 })
    for (const path of ['/products?offset=10001', '/orders?offset=99999999999', '/users?offset=10001', '/alerts?offset=20000', '/categories?offset=10001']) {
      const response = await call('GET', path, { as: users.admin })
      expect([path, response.status, response.body]).toEqual([path, 400, invalid('Use cursor to page beyond 10,000 items.')])
    }
  })
})

describe('visibility', () => {
  test("a customer's cursor pages only their own orders, and never another's", async () => {
    const productId = await insertProduct({ stock: 100 })
    for (let i = 0; i < 5; i++) {
      await call('POST', '/orders', { as: users.customer, body: { product_id: productId, quantity: 1 } })
      await call('POST', '/orders', { as: users.other, body: { product_id: productId, quantity: 1 } })
    }
    const { items } = await walk('/orders?limit=2', users.customer)
    expect(items.length).toBe(5)
    expect(items.every((order) => (order as { user_id?: number }).user_id === users.customer.id)).toBe(true)

    const mine = await call('GET', '/orders?limit=2', { as: users.customer })
    const stolen = await call('GET', `/orders?limit=2&cursor=${mine.body.next_cursor}`, { as: users.other })
    expect([stolen.status, stolen.body]).toEqual([400, BAD_CURSOR])
    // An admin's cursor over all orders does not open them to a customer either.
    const all = await call('GET', '/orders?limit=2', { as: users.admin })
    expect((await call('GET', `/orders?cursor=${all.body.next_cursor}`, { as: users.customer })).body).toEqual(BAD_CURSOR)
  })
})
