/**
 * A storm over real sockets: orders, single adjustments (some compare-and-set) and overlapping
 * bulks, in random product order, on a few products at once. Then the database must show no
 * deadlock, the ledger coherent for every product (stock = Σ movements, every stock_after the
 * previous one plus its delta, never negative), and every expected_stock that succeeded true at
 * that moment of the ledger.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { insertProduct } from '../support/fixtures'
import { app, query, resetDatabase, type Seeded } from '../support/helpers'

const PRODUCTS = 4
const REQUESTS = 240

let server: ReturnType<typeof Bun.serve>
let users: Seeded
beforeAll(async () => {
  users = await resetDatabase()
  server = Bun.serve({ port: 0, fetch: (request) => app.handle(request) })
})
afterAll(() => server.stop(true))

const basic = (user: Seeded[keyof Seeded]) => `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`
const pick = <T>(values: T[]) => values[Math.floor(Math.random() * values.length)]!
const between = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1))
const nonZero = (limit: number) => pick([-1, 1]) * between(1, limit)

async function post(path: string, as: Seeded[keyof Seeded], body: unknown) {
  const response = await fetch(`http://localhost:${server.port}${path}`, {
    method: 'POST',
    headers: { authorization: basic(as), 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  return { status: response.status, body: (await response.json()) as any }
}

async function stockNow(id: number): Promise<number> {
  const response = await fetch(`http://localhost:${server.port}/products/${id}`, { headers: { authorization: basic(users.manager) } })
  return ((await response.json()) as { stock: number }).stock
}

test('orders, adjustments and overlapping bulks: no deadlock, no 5xx, a coherent ledger, truthful expected_stock', async () => {
  const ids: number[] = []
  for (let i = 0; i < PRODUCTS; i++) ids.push(await insertProduct({ name: `Hot ${i}`, stock: 60, threshold: 30 }))
  const [{ deadlocks: deadlocksBefore }] = await query('SELECT deadlocks::int FROM pg_stat_database WHERE datname = current_database()')

  type Outcome = { kind: string; status: number; body: any; expected?: Map<number, number> }
  const one = async (): Promise<Outcome> => {
    const kind = pick(['order', 'adjust', 'adjust-cas', 'bulk', 'bulk'])
    const product = pick(ids)
    if (kind === 'order') {
      return { kind, ...(await post('/orders', pick([users.customer, users.other]), { product_id: product, quantity: between(1, 4) })) }
    }
    if (kind === 'adjust') {
      return { kind, ...(await post(`/products/${product}/stock-adjustments`, users.manager, { delta: nonZero(6), reason: 'correction' })) }
    }
    if (kind === 'adjust-cas') {
      const expected = await stockNow(product)
      const outcome = await post(`/products/${product}/stock-adjustments`, users.admin, { delta: nonZero(6), reason: 'count', expected_stock: expected })
      return { kind, ...outcome, expected: new Map([[product, expected]]) }
    }
    // Several products in random order, some twice, some compare-and-set: concurrent bulks lock overlapping sets.
    const expected = new Map<number, number>()
    const items = []
    for (let i = between(2, 6); i > 0; i--) {
      const target = pick(ids)
      const item: Record<string, unknown> = { product_id: target, delta: nonZero(8), reason: pick(['restock', 'loss', 'return']) }
      if (!expected.has(target) && Math.random() < 0.2) {
        expected.set(target, await stockNow(target))
        item.expected_stock = expected.get(target)
      }
      items.push(item)
    }
    return { kind, ...(await post('/stock-adjustments', pick([users.manager, users.admin]), { items })), expected }
  }
  const outcomes = await Promise.all(Array.from({ length: REQUESTS }, one))
  // At rest, a compare-and-set with the stock just read must succeed: at least one to check below.
  const expected = await stockNow(ids[0]!)
  const atRest = await post(`/products/${ids[0]}/stock-adjustments`, users.admin, { delta: 1, reason: 'count', expected_stock: expected })
  expect(atRest.status).toBe(201)
  outcomes.push({ kind: 'adjust-cas', ...atRest, expected: new Map([[ids[0]!, expected]]) })

  expect(outcomes.filter((outcome) => outcome.status >= 500)).toEqual([])
  for (const outcome of outcomes) expect([201, 400, 409]).toContain(outcome.status)
  for (const kind of ['order', 'adjust', 'bulk']) {
    expect(outcomes.filter((outcome) => outcome.kind === kind && outcome.status === 201).length).toBeGreaterThan(0)
  }
  const [{ deadlocks: deadlocksAfter }] = await query('SELECT deadlocks::int FROM pg_stat_database WHERE datname = current_database()')
  expect(deadlocksAfter).toBe(deadlocksBefore)

  // The ledger, per product in id order (a product's movements are written under its row lock).
  const ledger = new Map<number, Array<{ id: number; delta: number; stock_after: number }>>()
  for (const id of ids) {
    const movements = await query<{ id: string; delta: number; stock_after: number }>(
      'SELECT id, delta, stock_after FROM stock_movements WHERE product_id = $1 ORDER BY id',
      [id],
    )
    let running = 0
    for (const movement of movements) {
      running += movement.delta
      expect(movement.stock_after).toBe(running)
      expect(movement.stock_after).toBeGreaterThanOrEqual(0)
    }
    const [product] = await query('SELECT stock_quantity FROM products WHERE id = $1', [id])
    expect(product.stock_quantity).toBe(running)
    ledger.set(id, movements.map((movement) => ({ ...movement, id: Number(movement.id) })))
  }

  /** The product's stock just before the movement with this id. */
  const stockBefore = (product: number, movementId: number) => {
    const movements = ledger.get(product)!
    const index = movements.findIndex((movement) => movement.id === movementId)
    expect(index).toBeGreaterThan(-1)
    return index === 0 ? 0 : movements[index - 1]!.stock_after
  }
  let checked = 0
  for (const outcome of outcomes.filter((outcome) => outcome.status === 201 && outcome.expected?.size)) {
    const movements: Array<{ id: number; product_id: number }> = outcome.kind === 'bulk' ? outcome.body.items : [outcome.body]
    for (const [product, expected] of outcome.expected!) {
      const first = Math.min(...movements.filter((movement) => movement.product_id === product).map((movement) => movement.id))
      expect(stockBefore(product, first)).toBe(expected)
      checked++
    }
  }
  expect(checked).toBeGreaterThan(0)
  // A refused compare-and-set names a stock other than the one expected.
  for (const outcome of outcomes.filter((outcome) => outcome.status === 409)) {
    expect(outcome.body.message).toMatch(/^(Item \d+: )?The stock is \d+, not the expected \d+\.$/)
  }
}, 120_000)
