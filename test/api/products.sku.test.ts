import { beforeEach, describe, expect, test } from 'bun:test'
import { dataSource } from '../../src/db/data-source'
import { listProductsQuery } from '../../src/modules/products/sql'
import { call, query, resetDatabase, type Seeded } from '../support/helpers'
import { planNodes } from '../support/plans'

let users: Seeded
beforeEach(async () => {
  users = await resetDatabase()
})

const SKU_TAKEN = { error: 'Conflict', message: 'A product with this SKU already exists.' }
const invalid = (message: string) => ({ error: 'Invalid input', message })
const skus = () => query('SELECT id, sku FROM products ORDER BY id')

async function createProduct(body: Record<string, unknown>) {
  const response = await call('POST', '/products', { as: users.manager, body: { name: 'Drill', price: 1, stock: 0, ...body } })
  if (response.status !== 201) throw new Error(`create failed: ${response.text}`)
  return response.body
}

describe('product SKU', () => {
  test('kept as sent, in the create, read, list and update responses; null when unset', async () => {
    const created = await call('POST', '/products', { as: users.manager, body: { sku: ' DRL-18v_2.0 ', name: 'Drill', price: 1, stock: 0 } })
    expect(created.status).toBe(201)
    expect(created.body.sku).toBe('DRL-18v_2.0')
    expect((await call('GET', `/products/${created.body.id}`, { as: users.customer })).body.sku).toBe('DRL-18v_2.0')
    const plain = await createProduct({ name: 'Saw' })
    expect(plain.sku).toBeNull()
    expect((await call('GET', '/products', { as: users.customer })).body.items!.map((product) => product.sku)).toEqual([
      'DRL-18v_2.0',
      null,
    ])
    const updated = await call('PUT', `/products/${plain.id}`, { as: users.manager, body: { sku: 'SAW-1' } })
    expect(updated.status).toBe(200)
    expect(updated.body.sku).toBe('SAW-1')
    expect(await skus()).toEqual([
      { id: created.body.id, sku: 'DRL-18v_2.0' },
      { id: plain.id, sku: 'SAW-1' },
    ])
  })

  test('a SKU taken in another case → 409 Conflict on create, nothing written', async () => {
    await createProduct({ sku: 'DRL-1' })
    const response = await call('POST', '/products', { as: users.manager, body: { sku: 'drl-1', name: 'Other', price: 1, stock: 5 } })
    expect(response.status).toBe(409)
    expect(response.body).toEqual(SKU_TAKEN)
    expect(await skus()).toEqual([{ id: 1, sku: 'DRL-1' }])
    expect(await query('SELECT count(*)::int AS n FROM stock_movements')).toEqual([{ n: 0 }])
  })

  test('a SKU taken by another product → 409 on update, the product unchanged', async () => {
    await createProduct({ sku: 'DRL-1' })
    const other = await createProduct({ sku: 'SAW-1', name: 'Saw' })
    const response = await call('PUT', `/products/${other.id}`, { as: users.manager, body: { sku: 'Drl-1', name: 'Renamed', stock: 4 } })
    expect(response.status).toBe(409)
    expect(response.body).toEqual(SKU_TAKEN)
    expect(await query('SELECT sku, name, stock_quantity FROM products WHERE id = $1', [other.id])).toEqual([
      { sku: 'SAW-1', name: 'Saw', stock_quantity: 0 },
    ])
    expect(await query('SELECT count(*)::int AS n FROM stock_movements')).toEqual([{ n: 0 }])
  })

  test('a product may change the case of its own SKU, or remove it with null', async () => {
    const product = await createProduct({ sku: 'DRL-1' })
    expect((await call('PUT', `/products/${product.id}`, { as: users.manager, body: { sku: 'drl-1' } })).body.sku).toBe('drl-1')
    const cleared = await call('PUT', `/products/${product.id}`, { as: users.manager, body: { sku: null } })
    expect(cleared.status).toBe(200)
    expect(cleared.body.sku).toBeNull()
    expect(await skus()).toEqual([{ id: product.id, sku: null }])
    // Any number of products may have none.
    await createProduct({ sku: null })
    expect(await skus()).toEqual([
      { id: product.id, sku: null },
      { id: 2, sku: null },
    ])
  })

  test('a deleted product frees its SKU', async () => {
    const product = await createProduct({ sku: 'DRL-1' })
    expect((await call('DELETE', `/products/${product.id}`, { as: users.admin })).status).toBe(204)
    const again = await call('POST', '/products', { as: users.manager, body: { sku: 'DRL-1', name: 'Drill v2', price: 1, stock: 0 } })
    expect(again.status).toBe(201)
    expect((await call('GET', '/products?sku=drl-1', { as: users.customer })).body.items!.map((product) => product.id)).toEqual([again.body.id])
  })

  test.each([
    ['', 'Product SKU must not be empty.'],
    ['   ', 'Product SKU must not be empty.'],
    ['x'.repeat(65), 'Product SKU must be at most 64 characters long.'],
    ['DRL 18', 'Product SKU may contain only letters, digits, "_", "." and "-".'],
    ['DRL/18', 'Product SKU may contain only letters, digits, "_", "." and "-".'],
    ['DRÉ-18', 'Product SKU may contain only letters, digits, "_", "." and "-".'],
    [42, 'Product SKU must be a string.'],
  ])('sku %j → 400, nothing written', async (sku, message) => {
    const create = await call('POST', '/products', { as: users.manager, body: { sku, name: 'Drill', price: 1, stock: 0 } })
    expect(create.status).toBe(400)
    expect(create.body).toEqual(invalid(message))
    const product = await createProduct({ sku: 'KEEP' })
    const update = await call('PUT', `/products/${product.id}`, { as: users.manager, body: { sku } })
    expect(update.status).toBe(400)
    expect(update.body).toEqual(invalid(message))
    expect(await skus()).toEqual([{ id: product.id, sku: 'KEEP' }])
  })

  test('64 characters are accepted', async () => {
    expect((await createProduct({ sku: 'A'.repeat(64) })).sku).toBe('A'.repeat(64))
  })
})

describe('GET /products?sku=', () => {
  test('finds the one product with exactly that SKU, regardless of case', async () => {
    await createProduct({ sku: 'DRL-1' })
    const wanted = await createProduct({ sku: 'DRL-10', name: 'Big drill' })
    await createProduct({ sku: 'XDRL-10', name: 'Other' })
    const response = await call('GET', '/products?sku=drl-10', { as: users.customer })
    expect(response.status).toBe(200)
    expect(response.body).toMatchObject({ total: 1, limit: 20, offset: 0 })
    expect(response.body.items).toEqual([wanted])
  })

  test('no product with that SKU → an empty page; combined with other filters', async () => {
    await createProduct({ sku: 'DRL-1', stock: 0 })
    expect((await call('GET', '/products?sku=DRL-2', { as: users.customer })).body).toMatchObject({ items: [], total: 0 })
    expect((await call('GET', '/products?sku=DRL-1&in_stock=true', { as: users.customer })).body).toMatchObject({ items: [], total: 0 })
    expect((await call('GET', '/products?sku=DRL-1&in_stock=false', { as: users.customer })).body.total).toBe(1)
  })

  test('a value that cannot be a SKU → 400', async () => {
    const response = await call('GET', '/products?sku=a%20b', { as: users.customer })
    expect(response.status).toBe(400)
    expect(response.body).toEqual(invalid('Query parameter sku may contain only letters, digits, "_", "." and "-".'))
  })

  test('answered by the unique index on lower(sku), not a scan', async () => {
    await dataSource.query(
      `INSERT INTO products (sku, name, price, stock_quantity, low_stock_threshold)
       SELECT 'SKU-' || i, 'Item ' || i, 1, 1, 0 FROM generate_series(1, 20000) i`,
    )
    await dataSource.query('ANALYZE products')
    const { sql, params } = listProductsQuery({ sku: 'sku-4242' }, { limit: 20, offset: 0, scope: 'products' })
    const [row] = await dataSource.query(`EXPLAIN (FORMAT JSON) ${sql}`, params)
    const scans = planNodes(row['QUERY PLAN'][0].Plan).filter((node) => node['Relation Name'] === 'products')
    // The page and its bounded count each read products: both through the index.
    expect(scans.length).toBeGreaterThan(0)
    for (const scan of scans) expect(scan).toMatchObject({ 'Node Type': 'Index Scan', 'Index Name': 'products_sku_lower_key' })
  })
})
