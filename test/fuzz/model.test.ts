/**
 * Model-based test: random sequences of operations (users, categories, products, orders, logins,
 * reads) by random actors (every role, anonymous, deleted users, stale tokens) run against the
 * real app and a small in-memory model of what the spec says should happen. Each step's status
 * and body must match the model's prediction, and after each step the database must keep the
 * invariants: stock never negative, stock = sum of its movements, ordered + stock = initial stock
 * + adjustments, no 4xx changes anything, nobody gets past a guard, customers see only their orders.
 *
 * FUZZ_RUNS=20 hunts longer, FUZZ_SEED=<seed> replays a failure.
 */
import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { resetLoginThrottle } from '../../src/modules/auth/throttle'
import type { Role } from '../../src/modules/users/user.entity'
import { checkProperty, snapshot } from './support'
import { call, query, resetDatabase, type TestResponse } from '../support/helpers'

const FILE = 'test/fuzz/model.test.ts'

// ---------------------------------------------------------------- operations (abstract, so they shrink well)

/** An actor by index into the model's users (deleted ones included), or anonymous. */
interface Actor {
  user: number | null
  via: 'basic' | 'bearer'
}

type Op =
  | { kind: 'register'; actor: Actor; name: number; role: Role | undefined }
  | { kind: 'login'; user: number; correct: boolean; via: 'basic' | 'body' }
  | { kind: 'createCategory'; actor: Actor; name: number }
  | { kind: 'updateCategory'; actor: Actor; category: number; name: number }
  | { kind: 'deleteCategory'; actor: Actor; category: number }
  | { kind: 'createProduct'; actor: Actor; stock: number; threshold: number; categories: number[]; alias: boolean }
  | {
      kind: 'updateProduct'
      actor: Actor
      product: number
      stock: number | undefined
      threshold: number | undefined
      alias: boolean
      categories: number[] | undefined
    }
  | { kind: 'deleteProduct'; actor: Actor; product: number }
  | { kind: 'order'; actor: Actor; product: number; quantity: number; key: number | undefined }
  | { kind: 'setStatus'; actor: Actor; order: number; status: string }
  | { kind: 'getOrder'; actor: Actor; order: number }
  | { kind: 'listOrders'; actor: Actor }
  | { kind: 'getProduct'; actor: Actor; product: number }
  | { kind: 'listProducts'; actor: Actor; filter: 'none' | 'in_stock' | 'low_stock' | 'category' }
  | { kind: 'movements'; actor: Actor; product: number }
  | { kind: 'alerts'; actor: Actor }
  | { kind: 'changePassword'; actor: Actor; target: number }
  | { kind: 'changeRole'; actor: Actor; target: number; role: Role }
  | { kind: 'deleteUser'; actor: Actor; target: number }
  | { kind: 'getUser'; actor: Actor; target: number }
  | { kind: 'listUsers'; actor: Actor }

const USER_NAMES = ['alice', 'Alice', 'bob', 'carol', 'admin', 'Manager', 'dave']
const CATEGORY_NAMES = ['Tools', 'tools', 'Garden', 'Kitchen', '  TOOLS  ', 'Toys']
const IDEMPOTENCY_KEYS = ['key-a', 'key-b']

const ref = fc.nat({ max: 30 })
const actor: fc.Arbitrary<Actor> = fc.record({
  user: fc.option(ref, { freq: 6, nil: null }),
  via: fc.constantFrom('basic' as const, 'bearer' as const),
})
const role = fc.constantFrom<Role>('customer', 'manager', 'admin')

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('register' as const), actor, name: fc.nat({ max: USER_NAMES.length - 1 }), role: fc.option(role, { nil: undefined }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('login' as const), user: ref, correct: fc.boolean(), via: fc.constantFrom('basic' as const, 'body' as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('createCategory' as const), actor, name: fc.nat({ max: CATEGORY_NAMES.length - 1 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('updateCategory' as const), actor, category: ref, name: fc.nat({ max: CATEGORY_NAMES.length - 1 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('deleteCategory' as const), actor, category: ref }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('createProduct' as const),
      actor,
      stock: fc.nat({ max: 30 }),
      threshold: fc.nat({ max: 12 }),
      categories: fc.array(ref, { maxLength: 3 }),
      alias: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('updateProduct' as const),
      actor,
      product: ref,
      stock: fc.option(fc.nat({ max: 30 }), { nil: undefined }),
      threshold: fc.option(fc.nat({ max: 12 }), { nil: undefined, freq: 3 }),
      alias: fc.boolean(),
      categories: fc.option(fc.array(ref, { maxLength: 2 }), { nil: undefined }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('deleteProduct' as const), actor, product: ref }) },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('order' as const),
      actor,
      product: ref,
      quantity: fc.integer({ min: 1, max: 12 }),
      key: fc.option(fc.nat({ max: IDEMPOTENCY_KEYS.length - 1 }), { nil: undefined }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('setStatus' as const), actor, order: ref, status: fc.constantFrom('Pending', 'Completed', 'Cancelled') }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('getOrder' as const), actor, order: ref }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('listOrders' as const), actor }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('getProduct' as const), actor, product: ref }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('listProducts' as const), actor, filter: fc.constantFrom('none' as const, 'in_stock' as const, 'low_stock' as const, 'category' as const) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('movements' as const), actor, product: ref }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('alerts' as const), actor }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('changePassword' as const), actor, target: ref }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('changeRole' as const), actor, target: ref, role }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('deleteUser' as const), actor, target: ref }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('getUser' as const), actor, target: ref }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('listUsers' as const), actor }) },
)

// ---------------------------------------------------------------- the model

interface MUser {
  id: number
  username: string
  password: string
  role: Role
  deleted: boolean
  /** The last token issued, and whether a password change has voided it since. */
  token?: string
  tokenValid: boolean
}
interface MCategory {
  id: number
  name: string
  deleted: boolean
}
interface MProduct {
  id: number
  name: string
  stock: number
  /** Initial stock plus every accepted adjustment: what orders and stock must add up to. */
  base: number
  threshold: number
  categoryIds: number[]
  deleted: boolean
}
interface MOrder {
  id: number
  product_id: number
  user_id: number | null
  quantity: number
  status: string
}

class Model {
  users: MUser[] = []
  categories: MCategory[] = []
  products: MProduct[] = []
  orders: MOrder[] = []
  alerts = 0
  /** Stored Idempotency-Key outcomes by `${userId}:${key}`. */
  keys = new Map<string, { productId: number; quantity: number; body: unknown }>()
  private passwords = 0

  newPassword() {
    return `model-password-${++this.passwords}`
  }
  /** The entity at index n (deleted ones included, so that their 404 is exercised), if any. */
  pick<T>(list: T[], n: number): T | undefined {
    return list.length ? list[n % list.length] : undefined
  }
  activeAdmins() {
    return this.users.filter((user) => !user.deleted && user.role === 'admin').length
  }
  /** A stock change through the ledger: counts the alert when it crosses the threshold downwards. */
  changeStock(product: MProduct, after: number) {
    if (product.stock >= product.threshold && after < product.threshold) this.alerts += 1
    product.stock = after
  }
}

const MISSING_ID = 999_999

// ---------------------------------------------------------------- running one operation

type Expected = { status: number; body?: unknown }
interface Step {
  response: TestResponse
  expected: Expected
}

const UNAUTHORIZED_MISSING = { error: 'Unauthorized', message: 'Authentication is required: send Basic credentials or a Bearer token.' }
const INVALID_CREDENTIALS = { error: 'Unauthorized', message: 'Invalid username or password.' }
const INVALID_TOKEN = { error: 'Unauthorized', message: 'The token is invalid or has expired.' }
const FORBIDDEN = { error: 'Forbidden', message: 'You do not have permission to perform this action.' }
const notFound = (entity: string, id: number) => ({ error: `${entity} not found`, message: `The ${entity.toLowerCase()} with ID ${id} does not exist.` })
const conflict = (message: string) => ({ error: 'Conflict', message })

const basic = (user: MUser) => `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`

/** How an actor authenticates, and what the guards should make of it. */
function resolve(model: Model, who: Actor): { header?: string; principal?: MUser; failure?: Expected } {
  if (who.user === null) return { failure: { status: 401, body: UNAUTHORIZED_MISSING } }
  const user = model.pick(model.users, who.user)!
  if (who.via === 'bearer' && user.token) {
    const header = `Bearer ${user.token}`
    if (user.deleted || !user.tokenValid) return { header, failure: { status: 401, body: INVALID_TOKEN } }
    return { header, principal: user }
  }
  if (user.deleted) return { header: basic(user), failure: { status: 401, body: INVALID_CREDENTIALS } }
  return { header: basic(user), principal: user }
}

/** The guard of a route: the principal, or the 401/403 the actor must get. */
function guard(model: Model, who: Actor, roles?: readonly Role[]) {
  const resolved = resolve(model, who)
  if (resolved.failure) return { header: resolved.header, failure: resolved.failure }
  if (roles && !roles.includes(resolved.principal!.role)) return { header: resolved.header, failure: { status: 403, body: FORBIDDEN } }
  return { header: resolved.header, principal: resolved.principal! }
}

const STAFF = ['manager', 'admin'] as const
const ADMIN = ['admin'] as const

const send = (method: string, path: string, header: string | undefined, body?: unknown, headers?: Record<string, string>) =>
  call(method, path, { as: header ? { header } : undefined, body, headers })

const isCustomer = (user: MUser) => user.role === 'customer'

/** Runs `op` against the app and the model; returns the response and what the model expected of it. */
async function run(model: Model, op: Op): Promise<Step> {
  switch (op.kind) {
    case 'register': {
      const resolved = op.actor.user === null ? {} : resolve(model, op.actor)
      const username = USER_NAMES[op.name]!
      const password = model.newPassword()
      const response = await send('POST', '/users', resolved.header, { username, password, ...(op.role ? { role: op.role } : {}) })
      if (resolved.failure) return { response, expected: resolved.failure }
      if ((op.role ?? 'customer') !== 'customer' && resolved.principal?.role !== 'admin') return { response, expected: { status: 403, body: FORBIDDEN } }
      if (model.users.some((user) => !user.deleted && user.username.toLowerCase() === username.toLowerCase())) {
        return { response, expected: { status: 409, body: conflict('The username is already taken.') } }
      }
      if (response.status === 201) model.users.push({ id: response.body.id!, username, password, role: op.role ?? 'customer', deleted: false, tokenValid: false })
      return { response, expected: { status: 201, body: { id: expect.any(Number), username, role: op.role ?? 'customer', created_at: expect.any(String) } } }
    }

    case 'login': {
      const user = model.pick(model.users, op.user)!
      const password = op.correct ? user.password : 'not-the-password'
      const response =
        op.via === 'body'
          ? await send('POST', '/login', undefined, { username: user.username, password })
          : await send('POST', '/login', `Basic ${Buffer.from(`${user.username}:${password}`).toString('base64')}`)
      if (user.deleted || !op.correct) return { response, expected: { status: 401, body: INVALID_CREDENTIALS } }
      if (response.status === 200) Object.assign(user, { token: response.body.access_token, tokenValid: true })
      return { response, expected: { status: 200, body: { access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600 } } }
    }

    case 'createCategory': {
      const g = guard(model, op.actor, STAFF)
      const name = CATEGORY_NAMES[op.name]!
      const response = await send('POST', '/categories', g.header, { name })
      if (g.failure) return { response, expected: g.failure }
      const trimmed = name.trim()
      if (model.categories.some((c) => !c.deleted && c.name.toLowerCase() === trimmed.toLowerCase())) {
        return { response, expected: { status: 409, body: conflict('A category with this name already exists.') } }
      }
      if (response.status === 201) model.categories.push({ id: response.body.id!, name: trimmed, deleted: false })
      return { response, expected: { status: 201, body: expect.objectContaining({ name: trimmed, description: null }) } }
    }

    case 'updateCategory': {
      const g = guard(model, op.actor, STAFF)
      const category = model.pick(model.categories, op.category)
      const id = category?.id ?? MISSING_ID
      const name = CATEGORY_NAMES[op.name]!.trim()
      const response = await send('PUT', `/categories/${id}`, g.header, { name })
      if (g.failure) return { response, expected: g.failure }
      if (!category || category.deleted) return { response, expected: { status: 404, body: notFound('Category', id) } }
      if (model.categories.some((c) => !c.deleted && c !== category && c.name.toLowerCase() === name.toLowerCase())) {
        return { response, expected: { status: 409, body: conflict('A category with this name already exists.') } }
      }
      if (response.status === 200) category.name = name
      return { response, expected: { status: 200, body: expect.objectContaining({ id, name }) } }
    }

    case 'deleteCategory': {
      const g = guard(model, op.actor, ADMIN)
      const category = model.pick(model.categories, op.category)
      const id = category?.id ?? MISSING_ID
      const response = await send('DELETE', `/categories/${id}`, g.header)
      if (g.failure) return { response, expected: g.failure }
      if (!category || category.deleted) return { response, expected: { status: 404, body: notFound('Category', id) } }
      if (response.status === 204) {
        category.deleted = true
        for (const product of model.products) product.categoryIds = product.categoryIds.filter((c) => c !== id)
      }
      return { response, expected: { status: 204 } }
    }

    case 'createProduct': {
      const g = guard(model, op.actor, STAFF)
      const categories = [...new Set(op.categories.map((n) => model.pick(model.categories, n)).filter((c) => c !== undefined))]
      const name = `Product ${model.products.length + 1}`
      const body = {
        name,
        price: 12.5,
        [op.alias ? 'stock_quantity' : 'stock']: op.stock,
        low_stock_threshold: op.threshold,
        category_ids: categories.map((c) => c.id),
      }
      const response = await send('POST', '/products', g.header, body)
      if (g.failure) return { response, expected: g.failure }
      const missing = categories.find((c) => c.deleted)
      if (missing) return { response, expected: { status: 404, body: notFound('Category', missing.id) } }
      const categoryIds = categories.map((c) => c.id).sort((a, b) => a - b)
      if (response.status === 201) {
        model.products.push({ id: response.body.id!, name, stock: op.stock, base: op.stock, threshold: op.threshold, categoryIds, deleted: false })
      }
      return {
        response,
        expected: { status: 201, body: expect.objectContaining({ name, price: 12.5, stock: op.stock, low_stock_threshold: op.threshold }) },
      }
    }

    case 'updateProduct': {
      const g = guard(model, op.actor, STAFF)
      const product = model.pick(model.products, op.product)
      const id = product?.id ?? MISSING_ID
      const categories = op.categories && [...new Set(op.categories.map((n) => model.pick(model.categories, n)).filter((c) => c !== undefined))]
      const body: Record<string, unknown> = { description: `Updated by step` }
      if (op.stock !== undefined) body[op.alias ? 'stock_quantity' : 'stock'] = op.stock
      if (op.threshold !== undefined) body.low_stock_threshold = op.threshold
      if (categories) body.category_ids = categories.map((c) => c.id)
      const response = await send('PUT', `/products/${id}`, g.header, body)
      if (g.failure) return { response, expected: g.failure }
      if (!product || product.deleted) return { response, expected: { status: 404, body: notFound('Product', id) } }
      const missing = categories?.find((c) => c.deleted)
      if (missing) return { response, expected: { status: 404, body: notFound('Category', missing.id) } }
      if (response.status === 200) {
        // The new threshold is the one a stock change in the same request is judged by.
        if (op.threshold !== undefined) product.threshold = op.threshold
        if (op.stock !== undefined && op.stock !== product.stock) {
          product.base += op.stock - product.stock
          model.changeStock(product, op.stock)
        }
        if (categories) product.categoryIds = categories.map((c) => c.id).sort((a, b) => a - b)
      }
      return {
        response,
        expected: { status: 200, body: expect.objectContaining({ id, stock: op.stock ?? product.stock, low_stock_threshold: op.threshold ?? product.threshold }) },
      }
    }

    case 'deleteProduct': {
      const g = guard(model, op.actor, ADMIN)
      const product = model.pick(model.products, op.product)
      const id = product?.id ?? MISSING_ID
      const response = await send('DELETE', `/products/${id}`, g.header)
      if (g.failure) return { response, expected: g.failure }
      if (!product || product.deleted) return { response, expected: { status: 404, body: notFound('Product', id) } }
      if (response.status === 204) {
        product.deleted = true
        // A deleted product leaves its categories.
        product.categoryIds = []
      }
      return { response, expected: { status: 204 } }
    }

    case 'order': {
      const g = guard(model, op.actor)
      const product = model.pick(model.products, op.product)
      const productId = product?.id ?? MISSING_ID
      const key = op.key === undefined ? undefined : IDEMPOTENCY_KEYS[op.key]!
      const response = await send('POST', '/orders', g.header, { product_id: productId, quantity: op.quantity }, key ? { 'idempotency-key': key } : {})
      if (g.failure) return { response, expected: g.failure }
      const stored = key === undefined ? undefined : model.keys.get(`${g.principal.id}:${key}`)
      if (stored) {
        if (stored.productId !== productId || stored.quantity !== op.quantity) {
          return { response, expected: { status: 409, body: conflict('This Idempotency-Key was already used with a different request.') } }
        }
        expect(response.headers.get('idempotent-replayed')).toBe('true')
        return { response, expected: { status: 201, body: stored.body } }
      }
      if (!product || product.deleted) return { response, expected: { status: 404, body: notFound('Product', productId) } }
      if (op.quantity > product.stock) {
        const message = `There are only ${product.stock} units of ${product.name} in stock, but you requested ${op.quantity}.`
        return { response, expected: { status: 400, body: { error: 'Insufficient stock', message } } }
      }
      if (response.status === 201) {
        model.changeStock(product, product.stock - op.quantity)
        model.orders.push({ id: response.body.id!, product_id: productId, user_id: g.principal.id, quantity: op.quantity, status: 'Pending' })
        if (key) model.keys.set(`${g.principal.id}:${key}`, { productId, quantity: op.quantity, body: response.body })
      }
      return {
        response,
        expected: { status: 201, body: expect.objectContaining({ product_id: productId, user_id: g.principal.id, quantity: op.quantity, status: 'Pending' }) },
      }
    }

    case 'setStatus': {
      const g = guard(model, op.actor, STAFF)
      const order = model.pick(model.orders, op.order)
      const id = order?.id ?? MISSING_ID
      const response = await send('PUT', `/orders/${id}/status`, g.header, { status: op.status })
      if (g.failure) return { response, expected: g.failure }
      if (op.status !== 'Pending' && op.status !== 'Completed') {
        return { response, expected: { status: 400, body: { error: 'Invalid status', message: "Order status must be either 'Pending' or 'Completed'." } } }
      }
      if (!order) return { response, expected: { status: 404, body: notFound('Order', id) } }
      if (response.status === 200) order.status = op.status
      return { response, expected: { status: 200, body: expect.objectContaining({ ...order, status: op.status }) } }
    }

    case 'getOrder': {
      const g = guard(model, op.actor)
      const order = model.pick(model.orders, op.order)
      const id = order?.id ?? MISSING_ID
      const response = await send('GET', `/orders/${id}`, g.header)
      if (g.failure) return { response, expected: g.failure }
      // Another customer's order reads as absent.
      if (!order || (isCustomer(g.principal) && order.user_id !== g.principal.id)) return { response, expected: { status: 404, body: notFound('Order', id) } }
      return { response, expected: { status: 200, body: expect.objectContaining(order) } }
    }

    case 'listOrders': {
      const g = guard(model, op.actor)
      const response = await send('GET', '/orders?limit=100', g.header)
      if (g.failure) return { response, expected: g.failure }
      const visible = model.orders.filter((order) => !isCustomer(g.principal) || order.user_id === g.principal.id).reverse()
      return {
        response,
        expected: { status: 200, body: { items: visible.map((order) => expect.objectContaining(order)), total: visible.length, total_exact: true, limit: 100, offset: 0, next_cursor: null } },
      }
    }

    case 'getProduct': {
      const g = guard(model, op.actor)
      const product = model.pick(model.products, op.product)
      const id = product?.id ?? MISSING_ID
      const response = await send('GET', `/products/${id}`, g.header)
      if (g.failure) return { response, expected: g.failure }
      if (!product || product.deleted) return { response, expected: { status: 404, body: notFound('Product', id) } }
      const categories = product.categoryIds.map((categoryId) => ({ id: categoryId, name: model.categories.find((c) => c.id === categoryId)!.name }))
      return { response, expected: { status: 200, body: expect.objectContaining({ id, name: product.name, stock: product.stock, categories }) } }
    }

    case 'listProducts': {
      const g = guard(model, op.actor)
      const category = model.categories.find((c) => !c.deleted)?.id ?? MISSING_ID
      const filters = { none: '', in_stock: '&in_stock=true', low_stock: '&low_stock=true', category: `&category_id=${category}` }
      const response = await send('GET', `/products?limit=100${filters[op.filter]}`, g.header)
      if (g.failure) return { response, expected: g.failure }
      const live = model.products.filter(
        (p) =>
          !p.deleted &&
          (op.filter !== 'in_stock' || p.stock > 0) &&
          (op.filter !== 'low_stock' || p.stock < p.threshold) &&
          (op.filter !== 'category' || p.categoryIds.includes(category)),
      )
      return {
        response,
        expected: {
          status: 200,
          body: { items: live.map((p) => expect.objectContaining({ id: p.id, stock: p.stock })), total: live.length, total_exact: true, limit: 100, offset: 0, next_cursor: null },
        },
      }
    }

    case 'movements': {
      const g = guard(model, op.actor, STAFF)
      const product = model.pick(model.products, op.product)
      const id = product?.id ?? MISSING_ID
      const response = await send('GET', `/products/${id}/stock-movements?limit=100`, g.header)
      if (g.failure) return { response, expected: g.failure }
      if (!product || product.deleted) return { response, expected: { status: 404, body: notFound('Product', id) } }
      if (response.status === 200) {
        const sum = (response.body.items as Array<{ delta: number }>).reduce((total, movement) => total + movement.delta, 0)
        expect(sum, 'the listed movements add up to the stock').toBe(product.stock)
        expect(response.body.items![0]?.stock_after ?? 0, 'the newest movement ends at the stock').toBe(product.stock)
      }
      return { response, expected: { status: 200, body: expect.objectContaining({ limit: 100, offset: 0 }) } }
    }

    case 'alerts': {
      const g = guard(model, op.actor, STAFF)
      const response = await send('GET', '/alerts?limit=1', g.header)
      if (g.failure) return { response, expected: g.failure }
      return { response, expected: { status: 200, body: expect.objectContaining({ total: model.alerts }) } }
    }

    case 'changePassword': {
      const g = guard(model, op.actor)
      const target = model.pick(model.users, op.target)!
      const password = model.newPassword()
      const response = await send('PUT', `/users/${target.id}`, g.header, { password })
      if (g.failure) return { response, expected: g.failure }
      if ((g.principal.role !== 'admin' && g.principal.id !== target.id) || target.deleted) {
        return { response, expected: { status: 404, body: notFound('User', target.id) } }
      }
      if (response.status === 200) Object.assign(target, { password, tokenValid: false })
      return { response, expected: { status: 200, body: expect.objectContaining({ id: target.id, username: target.username, role: target.role }) } }
    }

    case 'changeRole': {
      const g = guard(model, op.actor)
      const target = model.pick(model.users, op.target)!
      const response = await send('PUT', `/users/${target.id}`, g.header, { role: op.role })
      if (g.failure) return { response, expected: g.failure }
      if (g.principal.role !== 'admin') return { response, expected: { status: 403, body: FORBIDDEN } }
      if (target.deleted) return { response, expected: { status: 404, body: notFound('User', target.id) } }
      if (op.role !== 'admin' && target.role === 'admin' && model.activeAdmins() <= 1) {
        return { response, expected: { status: 409, body: conflict('The last admin cannot be demoted.') } }
      }
      if (response.status === 200) target.role = op.role
      return { response, expected: { status: 200, body: expect.objectContaining({ id: target.id, role: op.role }) } }
    }

    case 'deleteUser': {
      const g = guard(model, op.actor, ADMIN)
      const target = model.pick(model.users, op.target)!
      const response = await send('DELETE', `/users/${target.id}`, g.header)
      if (g.failure) return { response, expected: g.failure }
      if (target.deleted) return { response, expected: { status: 404, body: notFound('User', target.id) } }
      if (target.role === 'admin' && model.activeAdmins() <= 1) return { response, expected: { status: 409, body: conflict('The last admin cannot be deleted.') } }
      if (response.status === 204) {
        target.deleted = true
        for (const order of model.orders) if (order.user_id === target.id) order.user_id = null
        for (const key of [...model.keys.keys()]) if (key.startsWith(`${target.id}:`)) model.keys.delete(key)
      }
      return { response, expected: { status: 204 } }
    }

    case 'getUser': {
      const g = guard(model, op.actor)
      const target = model.pick(model.users, op.target)!
      const response = await send('GET', `/users/${target.id}`, g.header)
      if (g.failure) return { response, expected: g.failure }
      if ((g.principal.role !== 'admin' && g.principal.id !== target.id) || target.deleted) {
        return { response, expected: { status: 404, body: notFound('User', target.id) } }
      }
      return { response, expected: { status: 200, body: { id: target.id, username: target.username, role: target.role, created_at: expect.any(String) } } }
    }

    case 'listUsers': {
      const g = guard(model, op.actor, ADMIN)
      const response = await send('GET', '/users?limit=100', g.header)
      if (g.failure) return { response, expected: g.failure }
      const live = model.users.filter((user) => !user.deleted)
      return {
        response,
        expected: { status: 200, body: { items: live.map((u) => ({ id: u.id, username: u.username, role: u.role, created_at: expect.any(String) })), total: live.length, total_exact: true, limit: 100, offset: 0, next_cursor: null } },
      }
    }
  }
}

// ---------------------------------------------------------------- invariants

interface DbState {
  products: Array<{ id: number; stock: number; ledger: number; ordered: number; deleted: boolean; categories: number[] }>
  orders: MOrder[]
  users: Array<{ id: number; username: string; role: Role }>
  categories: Array<{ id: number; name: string }>
  alerts: number
  keys: number
}

async function databaseState(): Promise<DbState> {
  const [row] = await query<{ state: DbState }>(`SELECT json_build_object(
    'products', (SELECT coalesce(json_agg(p ORDER BY p.id), '[]') FROM (
      SELECT id, stock_quantity AS stock, deleted_at IS NOT NULL AS deleted,
        (SELECT coalesce(sum(delta), 0)::int FROM stock_movements m WHERE m.product_id = products.id) AS ledger,
        (SELECT coalesce(sum(quantity), 0)::int FROM orders o WHERE o.product_id = products.id) AS ordered,
        (SELECT coalesce(json_agg(category_id ORDER BY category_id), '[]') FROM product_categories pc WHERE pc.product_id = products.id) AS categories
      FROM products) p),
    'orders', (SELECT coalesce(json_agg(o ORDER BY o.id), '[]') FROM (SELECT id, product_id, user_id, quantity, status FROM orders) o),
    'users', (SELECT coalesce(json_agg(u ORDER BY u.id), '[]') FROM (SELECT id, username, role FROM users) u),
    'categories', (SELECT coalesce(json_agg(c ORDER BY c.id), '[]') FROM (SELECT id, name FROM categories) c),
    'alerts', (SELECT count(*)::int FROM alerts),
    'keys', (SELECT count(*)::int FROM idempotency_keys)
  ) AS state`)
  return row!.state
}

function checkInvariants(model: Model, db: DbState, where: string) {
  for (const product of db.products) {
    const modelled = model.products.find((p) => p.id === product.id)!
    const label = `${where}: product ${product.id}`
    expect(product.stock, `${label} stock never negative`).toBeGreaterThanOrEqual(0)
    expect(product.ledger, `${label} stock = sum of its movements`).toBe(product.stock)
    expect(product.ordered + product.stock, `${label} ordered + stock = initial + adjustments`).toBe(modelled.base)
    expect(product.stock, `${label} stock as modelled`).toBe(modelled.stock)
    expect(product.deleted, `${label} deleted as modelled`).toBe(modelled.deleted)
    expect(product.categories, `${label} categories as modelled`).toEqual(modelled.categoryIds)
  }
  expect(db.products.length, `${where}: products`).toBe(model.products.length)
  expect(db.orders, `${where}: orders (owner, quantity, status)`).toEqual(model.orders)
  expect(db.users, `${where}: users and roles`).toEqual(
    model.users.filter((u) => !u.deleted).map(({ id, username, role }) => ({ id, username, role })),
  )
  expect(db.categories, `${where}: categories`).toEqual(model.categories.filter((c) => !c.deleted).map(({ id, name }) => ({ id, name })))
  expect(db.alerts, `${where}: one alert per downward threshold crossing`).toBe(model.alerts)
  expect(db.keys, `${where}: stored idempotency keys`).toBe(model.keys.size)
  expect(db.users.filter((u) => u.role === 'admin').length, `${where}: never without an admin`).toBeGreaterThan(0)
}

/** Outcomes seen, by operation and status; FUZZ_STATS=1 prints them (to see what the runs covered). */
const outcomes = new Map<string, number>()

async function runSequence(ops: Op[]) {
  const seeded = await resetDatabase()
  const model = new Model()
  for (const user of Object.values(seeded)) model.users.push({ ...user, deleted: false, tokenValid: false })
  // A small catalogue to start from (through the API and the model alike), so that early orders find stock.
  const manager: Actor = { user: 1, via: 'basic' }
  for (const op of [
    { kind: 'createCategory', actor: manager, name: 0 },
    { kind: 'createProduct', actor: manager, stock: 20, threshold: 5, categories: [0], alias: false },
    { kind: 'createProduct', actor: manager, stock: 6, threshold: 10, categories: [], alias: true },
  ] satisfies Op[]) {
    const { response, expected } = await run(model, op)
    expect(response.status, response.text).toBe(expected.status)
  }
  let before = await snapshot()
  for (const [index, op] of ops.entries()) {
    // Failed password checks are throttled per username (tested on their own): each step starts clean.
    await resetLoginThrottle()
    const { response, expected } = await run(model, op)
    const tally = `${op.kind} ${response.status}`
    outcomes.set(tally, (outcomes.get(tally) ?? 0) + 1)
    const where = `step ${index + 1} of ${ops.length}: ${JSON.stringify(op)} → ${response.status} ${response.text.slice(0, 300)}`
    expect(response.status, where).toBe(expected.status)
    if (expected.body !== undefined) expect(response.body as unknown, where).toEqual(expected.body)
    if (expected.status === 204) expect(response.text, where).toBe('')
    const after = await snapshot()
    if (response.status >= 400) expect(after, `${where}: a ${response.status} changed the database`).toEqual(before)
    before = after
    checkInvariants(model, await databaseState(), where)
  }
}

describe('model-based: random sequences of operations by random actors', () => {
  test('every step answers as the model predicts and the invariants hold after each', async () => {
    const name = 'every step answers as the model predicts and the invariants hold after each'
    const property = fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 40, size: 'max' }), runSequence)
    // Shrinking replays whole sequences against the database: bounded so a failure reports in time.
    await checkProperty(name, FILE, property, 30, { interruptAfterTimeLimit: 90_000 })
    if (process.env.FUZZ_STATS) console.log([...outcomes].sort().map(([key, count]) => `${key}: ${count}`).join('\n'))
  }, 180_000)
})
