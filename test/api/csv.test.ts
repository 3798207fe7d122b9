/**
 * CSV export and import of products (GET /products/export, POST /products/import): the exact
 * bodies of every refusal with its row, all-or-nothing writes, the ledger and alerts, dry runs,
 * a round trip of awkward text, and imports racing orders.
 */
import { beforeEach, describe, expect, test } from 'bun:test'
import { parse } from 'csv-parse/sync'
import { insertProduct } from '../support/fixtures'
import { app, call, insertCategory, query, resetDatabase, type Seeded } from '../support/helpers'
import { DRAIN_MAX_BYTES } from '../../src/http/json-body'
import { crlfRecords } from '../../src/modules/csv/export'

let users: Seeded

beforeEach(async () => {
  users = await resetDatabase()
})

const HEADER = 'sku,name,description,price,stock,low_stock_threshold,categories'
const csv = (...lines: string[]) => lines.join('\r\n') + '\r\n'
const invalid = (message: string) => ({ error: 'Invalid input', message })

function importCsv(body: string | Uint8Array | ReadableStream<Uint8Array>, options: { dryRun?: string; as?: Seeded[keyof Seeded]; contentType?: string } = {}) {
  const path = `/products/import${options.dryRun === undefined ? '' : `?dry_run=${options.dryRun}`}`
  const headers = new Headers({ 'content-type': options.contentType ?? 'text/csv' })
  const as = options.as ?? users.manager
  headers.set('authorization', `Basic ${Buffer.from(`${as.username}:${as.password}`).toString('base64')}`)
  return app.handle(new Request(`http://localhost${path}`, { method: 'POST', headers, body })).then(async (response) => ({
    status: response.status,
    body: await response.json(),
  }))
}

async function exportCsv(search = '', as: Seeded[keyof Seeded] = users.manager) {
  const response = await call('GET', `/products/export${search}`, { as })
  return { ...response, records: response.status === 200 ? (parse(response.text, { columns: true }) as Array<Record<string, string>>) : [] }
}

/** Products with their categories (names, sorted), by SKU: the state an import is judged by. */
async function catalogue() {
  return query(
    `SELECT p.sku, p.name, p.description, p.price::text, p.stock_quantity AS stock, p.low_stock_threshold AS threshold,
       ARRAY(SELECT c.name FROM product_categories pc JOIN categories c ON c.id = pc.category_id WHERE pc.product_id = p.id ORDER BY c.name) AS categories,
       p.updated_at
     FROM products p ORDER BY p.sku`,
  )
}

const counts = async () =>
  (
    await query(`SELECT (SELECT count(*) FROM products)::int AS products, (SELECT count(*) FROM stock_movements)::int AS movements,
      (SELECT count(*) FROM alerts)::int AS alerts, (SELECT count(*) FROM product_categories)::int AS links`)
  )[0]

async function insertSkuProduct(sku: string, fields: { name?: string; price?: string; stock?: number; threshold?: number } = {}) {
  const id = await insertProduct({ name: fields.name ?? `Product ${sku}`, price: fields.price, stock: fields.stock, threshold: fields.threshold })
  await query('UPDATE products SET sku = $2 WHERE id = $1', [id, sku])
  return id
}

/** Every product's stock equals the sum of its movements. */
async function expectLedgerBalanced() {
  const unbalanced = await query(
    `SELECT p.id FROM products p WHERE p.stock_quantity <> (SELECT coalesce(sum(delta), 0) FROM stock_movements m WHERE m.product_id = p.id)`,
  )
  expect(unbalanced).toEqual([])
}

describe('GET /products/export', () => {
  test('RFC 4180 CSV with a header row, categories joined by |, as a download, managers and admins only', async () => {
    const tools = await insertCategory('Tools')
    const garden = await insertCategory('Garden')
    const id = await insertSkuProduct('DRL-1', { name: 'Drill, "18 V"', price: '89.90', stock: 25, threshold: 5 })
    await query('UPDATE products SET description = $2 WHERE id = $1', [id, 'Two lines\nof text'])
    await query('INSERT INTO product_categories (product_id, category_id) VALUES ($1, $2), ($1, $3)', [id, tools, garden])
    await insertProduct({ name: 'No SKU', price: '1.00' })

    const response = await exportCsv()
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8')
    expect(response.headers.get('content-disposition')).toBe('attachment; filename="products.csv"')
    expect(response.headers.get('x-request-id')).toBeTruthy()
    const [created] = await query(`SELECT to_json(created_at) #>> '{}' AS created_at, to_json(updated_at) #>> '{}' AS updated_at FROM products WHERE id = $1`, [id])
    expect(response.text.split('\r\n')[0]).toBe('id,sku,name,description,price,stock,low_stock_threshold,categories,created_at,updated_at')
    expect(response.text.startsWith('id,sku,name,description,price,stock,low_stock_threshold,categories,created_at,updated_at\r\n')).toBe(true)
    expect(response.text).toContain(`${id},DRL-1,"Drill, ""18 V""","Two lines\nof text",89.90,25,5,Tools|Garden,`)
    expect(response.records).toHaveLength(2)
    // Every record ends in CRLF (header, two rows), the line break inside the quoted description stays LF.
    expect(response.text.split('\r\n')).toHaveLength(4)
    expect(response.text.endsWith('\r\n')).toBe(true)
    expect(response.records[0]).toEqual({
      id: String(id),
      sku: 'DRL-1',
      name: 'Drill, "18 V"',
      description: 'Two lines\nof text',
      price: '89.90',
      stock: '25',
      low_stock_threshold: '5',
      categories: 'Tools|Garden',
      created_at: new Date(created.created_at).toISOString(),
      updated_at: new Date(created.updated_at).toISOString(),
    })
    expect(response.records[1]).toMatchObject({ sku: '', name: 'No SKU', description: '', categories: '' })

    expect((await call('GET', '/products/export', { as: users.customer })).status).toBe(403)
    expect((await call('GET', '/products/export')).status).toBe(401)
    expect((await exportCsv('', users.admin)).status).toBe(200)
  })

  test('COPY\'s LF record ends become CRLF wherever the chunks are cut; line breaks in quoted fields stay', () => {
    const bytes = new TextEncoder().encode('a,"x\n""y""\n"\nb,\n')
    for (let cut = 0; cut <= bytes.length; cut++) {
      const toCrlf = crlfRecords()
      const out = Buffer.concat([toCrlf(bytes.subarray(0, cut)), toCrlf(bytes.subarray(cut))]).toString()
      expect(out).toBe('a,"x\n""y""\n"\r\nb,\r\n')
    }
  })

  test("cells a spreadsheet would run as formulas get a leading ', and only those", async () => {
    for (const name of ['=SUM(A1:A9)', '+1', '-2', '@cmd', '\tTab', '\rCR', "'=already quoted", 'plain', "'quoted"]) await insertProduct({ name })
    const { records } = await exportCsv()
    expect(records.map((record) => record.name)).toEqual([
      "'=SUM(A1:A9)",
      "'+1",
      "'-2",
      "'@cmd",
      "'\tTab",
      "'\rCR",
      "''=already quoted",
      'plain',
      "'quoted",
    ])
  })

  test('the list filters and sort apply; the page parameters do not exist here', async () => {
    const tools = await insertCategory('Tools')
    const cheap = await insertSkuProduct('A', { name: 'Cheap hammer', price: '5.00', stock: 3 })
    const dear = await insertSkuProduct('B', { name: 'Dear hammer', price: '50.00', stock: 30 })
    await insertSkuProduct('C', { name: 'Saw', price: '20.00', stock: 0 })
    await query('INSERT INTO product_categories (product_id, category_id) VALUES ($1, $2)', [dear, tools])

    const skus = async (search: string) => (await exportCsv(search)).records.map((record) => record.sku)
    expect(await skus('?sort=-price')).toEqual(['B', 'C', 'A'])
    expect(await skus('?q=hammer&sort=-name')).toEqual(['B', 'A'])
    expect(await skus('?min_price=10')).toEqual(['B', 'C'])
    expect(await skus('?in_stock=false')).toEqual(['C'])
    expect(await skus(`?category_id=${tools}`)).toEqual(['B'])
    expect(await skus('?low_stock=true')).toEqual(['A', 'C'])
    expect(await skus('?sku=a')).toEqual(['A'])
    await query('UPDATE products SET deleted_at = now() WHERE id = $1', [cheap])
    expect(await skus('')).toEqual(['B', 'C'])

    const bad = await call('GET', '/products/export?sort=colour', { as: users.manager })
    expect(bad.status).toBe(400)
    expect(bad.body).toEqual(invalid('Query parameter sort must be one of: name, -name, price, -price, stock, -stock, created_at, -created_at.'))
  })

  test('an empty catalogue is the header alone', async () => {
    const response = await exportCsv()
    expect(response.text).toBe('id,sku,name,description,price,stock,low_stock_threshold,categories,created_at,updated_at\r\n')
  })
})

describe('POST /products/import', () => {
  test('creates new SKUs, updates known ones (regardless of case), counts unchanged rows, stock through the ledger', async () => {
    const tools = await insertCategory('Tools')
    await insertCategory('Garden')
    const kept = await insertSkuProduct('KEEP-1', { name: 'Kept', price: '10.00', stock: 5, threshold: 2 })
    await query('INSERT INTO product_categories (product_id, category_id) VALUES ($1, $2)', [kept, tools])
    const changed = await insertSkuProduct('CHG-1', { name: 'Old name', price: '10.00', stock: 50, threshold: 10 })
    await query('INSERT INTO product_categories (product_id, category_id) VALUES ($1, $2)', [changed, tools])

    const result = await importCsv(
      csv(
        HEADER,
        'NEW-1,New product,"Quoted, with comma",12.5,7,3,tools|GARDEN',
        'keep-1,Kept,,10,5,2,Tools',
        'CHG-1,New name,,10.00,4,,',
        'NEW-2,No stock given,,1.99,,,',
      ),
    )
    expect(result).toEqual({ status: 200, body: { created: 2, updated: 2, unchanged: 0, dry_run: false } })

    const products = await query(
      `SELECT p.id, p.sku, p.name, p.description, p.price::text, p.stock_quantity AS stock, p.low_stock_threshold AS threshold,
         ARRAY(SELECT c.name FROM product_categories pc JOIN categories c ON c.id = pc.category_id WHERE pc.product_id = p.id ORDER BY c.name) AS categories
       FROM products p ORDER BY p.id`,
    )
    expect(products.map(({ id, ...product }) => product)).toEqual([
      // The file's spelling of the SKU is kept; CHG-1's empty categories cell removed its category.
      { sku: 'keep-1', name: 'Kept', description: null, price: '10.00', stock: 5, threshold: 2, categories: ['Tools'] },
      { sku: 'CHG-1', name: 'New name', description: null, price: '10.00', stock: 4, threshold: 10, categories: [] },
      { sku: 'NEW-1', name: 'New product', description: 'Quoted, with comma', price: '12.50', stock: 7, threshold: 3, categories: ['Garden', 'Tools'] },
      { sku: 'NEW-2', name: 'No stock given', description: null, price: '1.99', stock: 0, threshold: 10, categories: [] },
    ])
    const movements = await query(
      `SELECT p.sku, m.delta, m.stock_after, m.reason, m.user_id FROM stock_movements m JOIN products p ON p.id = m.product_id
       WHERE m.reason = 'import' ORDER BY p.sku`,
    )
    expect(movements).toEqual([
      { sku: 'CHG-1', delta: -46, stock_after: 4, reason: 'import', user_id: users.manager.id },
      { sku: 'NEW-1', delta: 7, stock_after: 7, reason: 'import', user_id: users.manager.id },
    ])
    // 50 → 4 crosses the threshold of 10: one alert, as an order or a PUT records it.
    expect(await query('SELECT product_id, stock, threshold, order_id FROM alerts')).toEqual([
      { product_id: changed, stock: 4, threshold: 10, order_id: null },
    ])
    await expectLedgerBalanced()

    const again = await importCsv(csv(HEADER, 'NEW-1,New product,"Quoted, with comma",12.50,7,3,Garden|Tools'))
    expect(again.body).toEqual({ created: 0, updated: 0, unchanged: 1, dry_run: false })
  })

  test('columns in any order, only sku and name required; absent columns keep their values', async () => {
    const id = await insertSkuProduct('A-1', { name: 'Before', price: '3.00', stock: 9, threshold: 4 })
    const result = await importCsv(csv('name,sku', 'After,A-1'))
    expect(result.body).toEqual({ created: 0, updated: 1, unchanged: 0, dry_run: false })
    expect(await query('SELECT name, price::text, stock_quantity, low_stock_threshold FROM products WHERE id = $1', [id])).toEqual([
      { name: 'After', price: '3.00', stock_quantity: 9, low_stock_threshold: 4 },
    ])
  })

  test('UTF-8 with a BOM, LF line ends, quoted newlines and the leading quote of a neutralised formula', async () => {
    const body = '\uFEFFsku,name,description,price\nX-1,"=1+1 ""quoted""","line one\nline two, with comma",1\nX-2,\'-minus,\'@at,2\n'
    expect((await importCsv(body)).body).toEqual({ created: 2, updated: 0, unchanged: 0, dry_run: false })
    expect(await query('SELECT sku, name, description FROM products ORDER BY sku')).toEqual([
      { sku: 'X-1', name: '=1+1 "quoted"', description: 'line one\nline two, with comma' },
      { sku: 'X-2', name: '-minus', description: '@at' },
    ])
  })

  test('?dry_run=true validates and counts, writing nothing', async () => {
    await insertCategory('Tools')
    await insertSkuProduct('OLD', { name: 'Old', price: '1.00', stock: 20 })
    await insertSkuProduct('SAME', { name: 'Same', price: '1.00', stock: 20 })
    const before = { catalogue: await catalogue(), counts: await counts() }
    const result = await importCsv(csv(HEADER, 'OLD,Renamed,,1,0,,Tools', 'SAME,Same,,1,20,10,', 'NEW,New,,2,5,,Tools'), { dryRun: 'true' })
    expect(result).toEqual({ status: 200, body: { created: 1, updated: 1, unchanged: 1, dry_run: true } })
    expect({ catalogue: await catalogue(), counts: await counts() }).toEqual(before)

    const bad = await importCsv(csv(HEADER, 'NEW,New,,,5,,'), { dryRun: 'true' })
    expect(bad).toEqual({ status: 400, body: invalid('Row 2: Product price is required.') })
    expect(await importCsv(csv(HEADER), { dryRun: 'yes' })).toEqual({ status: 400, body: invalid('Query parameter dry_run must be true or false.') })
  })

  describe('every refusal names the first bad row (the header is row 1) and writes nothing', () => {
    const cases: Array<[string, string, string]> = [
      ['a new product without a price', csv(HEADER, 'A,Fine,,1,1,,', 'B,Fine,,1,1,,', 'C,No price,,,1,,'), 'Row 4: Product price is required.'],
      ['an empty name', csv(HEADER, 'A,,,1,1,,'), 'Row 2: Product name is required.'],
      ['an empty sku', csv(HEADER, ',Name,,1,1,,'), 'Row 2: Product SKU is required.'],
      ['a bad sku', csv(HEADER, 'A B,Name,,1,1,,'), 'Row 2: Product SKU may contain only letters, digits, "_", "." and "-".'],
      ['a long sku', csv(HEADER, `${'S'.repeat(65)},Name,,1,1,,`), 'Row 2: Product SKU must be at most 64 characters long.'],
      ['a long name', csv(HEADER, `A,${'n'.repeat(201)},,1,1,,`), 'Row 2: Product name must be at most 200 characters long.'],
      ['a price with three decimals', csv(HEADER, 'A,Name,,1.005,1,,'), 'Row 2: Product price must have at most 2 decimal places.'],
      ['a price that is not a number', csv(HEADER, 'A,Name,,cheap,1,,'), 'Row 2: Product price must be a number.'],
      ['a negative stock', csv(HEADER, 'A,Name,,1,-1,,'), 'Row 2: Product stock must be at least 0.'],
      ['a fractional stock', csv(HEADER, 'A,Name,,1,1.5,,'), 'Row 2: Product stock must be an integer.'],
      ['a bad threshold', csv(HEADER, 'A,Name,,1,1,x,'), 'Row 2: Low-stock threshold must be a number.'],
      ['an unknown category', csv(HEADER, 'A,Name,,1,1,,Tools', 'B,Name,,1,1,,Tools|Nope'), 'Row 3: Each category must be the name of an existing category.'],
      ['a SKU twice, regardless of case', csv(HEADER, 'A,Name,,1,1,,', 'B,Name,,1,1,,', 'a,Name,,1,1,,'), 'Row 4: This SKU appears on an earlier row of the file.'],
      ['a short row', csv(HEADER, 'A,Name,,1,1,,', 'B,Name'), 'Row 3: The row has 2 fields, but the header has 7.'],
      ['an unclosed quote', csv(HEADER, 'A,Name,,1,1,,', 'B,"Name,,1,1,,'), 'Row 3: A quoted field is not closed.'],
      ['a quote in an unquoted field', csv(HEADER, 'A,Na"me",,1,1,,'), 'Row 2: A field that holds a quote must be quoted, its quotes doubled.'],
      ['an undoubled quote in a quoted field', csv(HEADER, 'A,Name,,1,1,,', 'B,"Na"me",,1,1,,'), 'Row 3: A quote inside a quoted field must be doubled.'],
      ['an unknown column', csv('sku,name,colour', 'A,Name,red'), "Row 1: Unknown column; the columns are sku, name, description, price, stock, low_stock_threshold, categories (and the export's id, created_at, updated_at, ignored)."],
      ['a column twice', csv('sku,name,name', 'A,Name,Name'), 'Row 1: A column appears more than once.'],
      ['no sku column', csv('name,price', 'Name,1'), 'Row 1: The column sku is required.'],
      ['no name column', csv('sku,price', 'A,1'), 'Row 1: The column name is required.'],
      ['an empty file', '', 'The CSV file is empty: it must start with a header row.'],
      ['U+0000 in a name', csv(HEADER, 'A,Na\u0000me,,1,1,,'), 'Row 2: Product name must not contain U+0000 or unpaired surrogate characters.'],
      // The catalogue's rule (row 3) comes before the file's own (row 4).
      ['the first of two bad rows', csv(HEADER, 'A,Fine,,1,1,,', 'NEW,No price,,,1,,', 'B,Fine,,1.001,1,,'), 'Row 3: Product price is required.'],
    ]
    for (const [what, body, message] of cases) {
      test(what, async () => {
        await insertCategory('Tools')
        await insertSkuProduct('A', { stock: 3 })
        const before = { catalogue: await catalogue(), counts: await counts() }
        expect(await importCsv(body)).toEqual({ status: 400, body: invalid(message) })
        expect({ catalogue: await catalogue(), counts: await counts() }).toEqual(before)
      })
    }

    test('a body that is not UTF-8', async () => {
      const bytes = new Uint8Array([...new TextEncoder().encode(`${HEADER}\r\nA,Caf`), 0xe9, ...new TextEncoder().encode(',,1,1,,\r\n')])
      expect(await importCsv(bytes)).toEqual({ status: 400, body: invalid('The CSV file must be encoded in UTF-8.') })
      expect(await counts()).toMatchObject({ products: 0 })
    })
  })

  test('a failure in row 99,999 writes nothing of the 99,997 good rows before it', async () => {
    const lines = [HEADER]
    for (let row = 2; row <= 100_000; row++) lines.push(row === 99_999 ? `S${row},Bad,,1.234,1,,` : `S${row},Product ${row},,1.50,${row % 7},,`)
    expect(await importCsv(csv(...lines))).toEqual({ status: 400, body: invalid('Row 99999: Product price must have at most 2 decimal places.') })
    expect(await counts()).toEqual({ products: 0, movements: 0, alerts: 0, links: 0 })
  }, 60_000)

  test('the media type must be text/csv; its own size limit, for declared and for streamed bodies', async () => {
    const unsupported = { error: 'Unsupported media type', message: 'The request body must be CSV (Content-Type: text/csv).' }
    expect(await importCsv(csv(HEADER), { contentType: 'application/json' })).toEqual({ status: 415, body: unsupported })

    const limit = 50 * 1024 * 1024
    const tooLarge = { error: 'Payload too large', message: `The request body must not exceed ${limit} bytes.` }
    let pulled = 0
    const chunk = new TextEncoder().encode('x'.repeat(64 * 1024))
    const endless = new ReadableStream<Uint8Array>({
      start(controller) {
        // One quoted name that never ends: no row is complete, nothing to refuse but the size.
        controller.enqueue(new TextEncoder().encode('sku,name\nA,"'))
      },
      pull(controller) {
        // 100 MiB on offer: past its 50 MiB the import only drains, at most DRAIN_MAX_BYTES, and stops.
        if (pulled++ < 1600) controller.enqueue(chunk)
        else controller.close()
      },
    })
    expect(await importCsv(endless)).toEqual({ status: 413, body: tooLarge })
    expect(pulled).toBeLessThan((limit + DRAIN_MAX_BYTES) / chunk.length + 4)

    const declared = await app.handle(
      new Request('http://localhost/products/import', {
        method: 'POST',
        headers: { 'content-type': 'text/csv', 'content-length': String(limit + 1), authorization: `Basic ${Buffer.from('manager:manager-password').toString('base64')}` },
        body: 'sku,name\n',
      }),
    )
    expect(declared.status).toBe(413)
    expect(await declared.json()).toEqual(tooLarge)

    // A JSON route keeps the 1 MiB limit: only the import has the larger one.
    const json = await app.handle(
      new Request('http://localhost/categories', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': String(2 * 1024 * 1024) },
        body: '{}',
      }),
    )
    expect(json.status).toBe(413)
  })

  test('customers may not import; anonymous callers are asked to authenticate', async () => {
    expect(await importCsv(csv(HEADER, 'A,Name,,1,1,,'), { as: users.customer })).toMatchObject({ status: 403 })
    const anonymous = await app.handle(new Request('http://localhost/products/import', { method: 'POST', headers: { 'content-type': 'text/csv' }, body: 'sku,name\n' }))
    expect(anonymous.status).toBe(401)
    expect(await counts()).toMatchObject({ products: 0 })
  })
})

describe('round trip', () => {
  test('10,000 products of awkward text exported and imported back change nothing', async () => {
    const tools = await insertCategory('Tools, "hand"')
    const odd = await insertCategory('=Formulas é')
    const awkward = ['=cmd|" /C calc"!A0', 'comma, "quote"', 'new\nline', 'crlf\r\nline', 'Ünïcödé 東京 🚀', '-minus', '@at', '+plus', "'apostrophe", "'=quoted formula", ' spaced ']
    await query(
      `INSERT INTO products (sku, name, description, price, stock_quantity, low_stock_threshold)
       SELECT 'RT-' || i, btrim('Product ' || i || ' ' || ($1::text[])[1 + i % $2]), CASE WHEN i % 3 = 0 THEN NULL ELSE ($1::text[])[1 + (i + 1) % $2] END,
         (i % 1000) + (i % 100) / 100.0, i % 50, i % 20
       FROM generate_series(1, 10000) AS i`,
      [awkward, awkward.length],
    )
    await query(`INSERT INTO stock_movements (product_id, delta, stock_after, reason) SELECT id, stock_quantity, stock_quantity, 'initial' FROM products WHERE stock_quantity > 0`)
    await query(`INSERT INTO product_categories (product_id, category_id) SELECT id, $1 FROM products WHERE id % 2 = 0`, [tools])
    await query(`INSERT INTO product_categories (product_id, category_id) SELECT id, $1 FROM products WHERE id % 3 = 0`, [odd])
    // Names as the API stores them (trimmed); descriptions as sent, spaces included.
    const before = { catalogue: await catalogue(), counts: await counts() }

    const exported = await exportCsv()
    expect(exported.records).toHaveLength(10_000)
    const result = await importCsv(exported.text)
    expect(result).toEqual({ status: 200, body: { created: 0, updated: 0, unchanged: 10_000, dry_run: false } })
    expect({ catalogue: await catalogue(), counts: await counts() }).toEqual(before)
  }, 60_000)
})

describe('an import racing orders on the same products', () => {
  test('no order is lost and every stock equals the sum of its movements', async () => {
    const ids: number[] = []
    for (let i = 0; i < 5; i++) ids.push(await insertSkuProduct(`RACE-${i}`, { price: '1.00', stock: 1000, threshold: 0 }))
    const order = (productId: number) => call('POST', '/orders', { as: users.customer, body: { product_id: productId, quantity: 1 } })
    const orders = Array.from({ length: 100 }, (_, i) => order(ids[i % ids.length]!))
    const imports = [500, 800].map((stock) => importCsv(csv('sku,name,stock', ...ids.map((_, i) => `RACE-${i},Product RACE-${i},${stock}`))))
    const placed = (await Promise.all(orders)).filter((response) => response.status === 201).length
    for (const result of await Promise.all(imports)) expect(result.status).toBe(200)

    expect(placed).toBe(100)
    await expectLedgerBalanced()
    expect((await query(`SELECT count(*)::int AS n FROM stock_movements WHERE reason = 'order'`))[0].n).toBe(100)
    // The ledger is one chain per product: every movement starts from the stock the previous one left.
    const broken = await query(
      `SELECT id FROM (SELECT id, stock_after - delta AS before, lag(stock_after, 1, 0) OVER (PARTITION BY product_id ORDER BY id) AS previous
       FROM stock_movements) m WHERE before <> previous`,
    )
    expect(broken).toEqual([])
  })
})
