import { beforeEach, describe, expect, test } from 'bun:test'
import { dataSource } from '../../src/db/data-source'
import { hashPassword } from '../../src/modules/auth/passwords'
import { announceUserChange, listenForUserChanges } from '../../src/modules/auth/user-changes'
import { deleteUser } from '../../src/modules/users/service'
import { call, query, resetDatabase, tokenFor, type Seeded } from '../support/helpers'

let users: Seeded
beforeEach(async () => {
  users = await resetDatabase()
})

const isoDate = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)

describe('POST /users', () => {
  test('anyone may register a customer; the body is the public user', async () => {
    const response = await call('POST', '/users', { body: { username: 'alice', password: 'long-enough' } })
    expect(response.status).toBe(201)
    expect(response.body).toEqual({ id: expect.any(Number), username: 'alice', role: 'customer', created_at: isoDate })
    const [row] = await query('SELECT username, role, password_hash FROM users WHERE id = $1', [response.body.id])
    expect(row.username).toBe('alice')
    expect(row.password_hash).toStartWith('$argon2id$')
    expect(await Bun.password.verify('long-enough', row.password_hash)).toBe(true)
  })

  test('unknown fields are ignored, never bound', async () => {
    const response = await call('POST', '/users', {
      body: { username: 'mallory', password: 'long-enough', id: 999, password_hash: 'x', token_version: 7, created_at: '2000-01-01T00:00:00Z' },
    })
    expect(response.status).toBe(201)
    expect(response.body.id).not.toBe(999)
    const [row] = await query('SELECT token_version, created_at FROM users WHERE username = $1', ['mallory'])
    expect(row.token_version).toBe(0)
    expect(new Date(row.created_at).getFullYear()).toBeGreaterThan(2000)
  })

  test('usernames are unique regardless of case → 409 Conflict', async () => {
    const response = await call('POST', '/users', { body: { username: 'CUSTOMER', password: 'long-enough' } })
    expect(response.status).toBe(409)
    expect(response.body).toEqual({ error: 'Conflict', message: 'The username is already taken.' })
    expect(await query("SELECT 1 FROM users WHERE lower(username) = 'customer'")).toHaveLength(1)
  })

  test.each([
    [{ password: 'long-enough' }, 'Username is required.'],
    [{ username: 'alice' }, 'Password is required.'],
    [{ username: 'al', password: 'long-enough' }, 'Username must be at least 3 characters long.'],
    [{ username: 'a'.repeat(51), password: 'long-enough' }, 'Username must be at most 50 characters long.'],
    [{ username: 'alice smith', password: 'long-enough' }, 'Username may contain only letters, digits, "_", "." and "-".'],
    [{ username: 42, password: 'long-enough' }, 'Username must be a string.'],
    [{ username: 'alice', password: 'short' }, 'Password must be at least 8 characters long.'],
    [{ username: 'alice', password: 'p'.repeat(129) }, 'Password must be at most 128 characters long.'],
    [{ username: 'alice', password: 'long-enough', role: 'root' }, 'Role must be one of: admin, manager, customer.'],
  ])('invalid body %j → 400 %s', async (body, message) => {
    const response = await call('POST', '/users', { body })
    expect(response.status).toBe(400)
    expect(response.body).toEqual({ error: 'Invalid input', message })
    expect(await query('SELECT 1 FROM users')).toHaveLength(4)
  })

  test('the submitted value is never echoed in a validation error', async () => {
    const response = await call('POST', '/users', { body: { username: 'a<script>b', password: 'secret-canary' } })
    expect(response.status).toBe(400)
    expect(response.text).not.toContain('<script>')
    expect(response.text).not.toContain('secret-canary')
  })

  test.each([
    ['anonymous', undefined, 403],
    ['customer', 'customer', 403],
    ['manager', 'manager', 403],
    ['admin', 'admin', 201],
  ] as const)('creating a manager as %s', async (_, who, status) => {
    const response = await call('POST', '/users', {
      as: who ? users[who] : undefined,
      body: { username: 'newboss', password: 'long-enough', role: 'manager' },
    })
    expect(response.status).toBe(status)
    if (status === 403) {
      expect(response.body).toEqual({ error: 'Forbidden', message: 'You do not have permission to perform this action.' })
    } else {
      expect(response.body.role).toBe('manager')
    }
    expect(await query("SELECT 1 FROM users WHERE username = 'newboss'")).toHaveLength(status === 201 ? 1 : 0)
  })

  test('only an admin may create another admin', async () => {
    const asManager = await call('POST', '/users', { as: users.manager, body: { username: 'boss2', password: 'long-enough', role: 'admin' } })
    expect(asManager.status).toBe(403)
    const asAdmin = await call('POST', '/users', { as: users.admin, body: { username: 'boss2', password: 'long-enough', role: 'admin' } })
    expect(asAdmin.status).toBe(201)
    expect(asAdmin.body.role).toBe('admin')
  })

  test('wrong credentials on registration are a 401, not silently anonymous', async () => {
    const response = await call('POST', '/users', {
      as: { ...users.admin, password: 'wrong-password' },
      body: { username: 'alice', password: 'long-enough' },
    })
    expect(response.status).toBe(401)
  })
})

describe('GET /users', () => {
  test.each([
    ['anonymous', undefined, 401],
    ['customer', 'customer', 403],
    ['manager', 'manager', 403],
    ['admin', 'admin', 200],
  ] as const)('as %s', async (_, who, status) => {
    const response = await call('GET', '/users', { as: who ? users[who] : undefined })
    expect(response.status).toBe(status)
  })

  test('returns the paginated envelope, oldest first', async () => {
    const response = await call('GET', '/users?limit=2&offset=1', { as: users.admin })
    expect(response.body).toEqual({
      items: [
        { id: users.manager.id, username: 'manager', role: 'manager', created_at: isoDate },
        { id: users.customer.id, username: 'customer', role: 'customer', created_at: isoDate },
      ],
      total: 4,
      total_exact: true,
      limit: 2,
      offset: 1,
      next_cursor: expect.any(String),
    })
  })

  test('defaults to limit 20, offset 0', async () => {
    const response = await call('GET', '/users', { as: users.admin })
    expect(response.body).toMatchObject({ total: 4, limit: 20, offset: 0 })
    expect(response.body.items).toHaveLength(4)
  })

  test.each([
    ['limit=0', 'Query parameter limit must be an integer between 1 and 100.'],
    ['limit=101', 'Query parameter limit must be an integer between 1 and 100.'],
    ['limit=abc', 'Query parameter limit must be an integer between 1 and 100.'],
    ['offset=-1', 'Query parameter offset must be an integer between 0 and 10000.'],
  ])('?%s → 400', async (qs, message) => {
    const response = await call('GET', `/users?${qs}`, { as: users.admin })
    expect(response.status).toBe(400)
    expect(response.body).toEqual({ error: 'Invalid input', message })
  })
})

describe('GET /users/{id}', () => {
  test('a user reads themselves', async () => {
    const response = await call('GET', `/users/${users.customer.id}`, { as: users.customer })
    expect(response.status).toBe(200)
    expect(response.body).toEqual({ id: users.customer.id, username: 'customer', role: 'customer', created_at: isoDate })
  })

  test.each(['customer', 'manager'] as const)("another user's account reads as 404 for a %s", async (who) => {
    const response = await call('GET', `/users/${users.other.id}`, { as: users[who] })
    expect(response.status).toBe(404)
    expect(response.body).toEqual({ error: 'User not found', message: `The user with ID ${users.other.id} does not exist.` })
  })

  test('an admin reads anyone', async () => {
    const response = await call('GET', `/users/${users.other.id}`, { as: users.admin })
    expect(response.status).toBe(200)
    expect(response.body.username).toBe('other')
  })

  test('anonymous → 401', async () => {
    expect((await call('GET', `/users/${users.customer.id}`)).status).toBe(401)
  })

  test('unknown id → 404 with the exact body', async () => {
    const response = await call('GET', '/users/42', { as: users.admin })
    expect(response.status).toBe(404)
    expect(response.body).toEqual({ error: 'User not found', message: 'The user with ID 42 does not exist.' })
  })

  test.each(['abc', '0', '-1', '1.5', '1e3', '99999999999'])('bad id %s → 400', async (id) => {
    const response = await call('GET', `/users/${id}`, { as: users.admin })
    expect(response.status).toBe(400)
    expect(response.body).toEqual({ error: 'Invalid input', message: 'User ID must be a positive integer.' })
  })
})

describe('PUT /users/{id}', () => {
  test('a user changes their own password: old Basic and old tokens stop working at once', async () => {
    const oldToken = await tokenFor(users.customer)
    // Warm the Basic verification cache first: the change must still take effect at once.
    expect((await call('GET', `/users/${users.customer.id}`, { as: users.customer })).status).toBe(200)

    const response = await call('PUT', `/users/${users.customer.id}`, { as: users.customer, body: { password: 'brand-new-password' } })
    expect(response.status).toBe(200)
    expect(response.body).toEqual({ id: users.customer.id, username: 'customer', role: 'customer', created_at: isoDate })

    expect((await call('GET', `/users/${users.customer.id}`, { as: users.customer })).status).toBe(401)
    expect((await call('GET', `/users/${users.customer.id}`, { as: { token: oldToken } })).status).toBe(401)
    const renewed = { ...users.customer, password: 'brand-new-password' }
    expect((await call('GET', `/users/${users.customer.id}`, { as: renewed })).status).toBe(200)
    expect((await call('GET', `/users/${users.customer.id}`, { as: { token: await tokenFor(renewed) } })).status).toBe(200)
  })

  test.each(['customer', 'manager'] as const)("a %s cannot touch another user's account (404) or any role (403)", async (who) => {
    const other = await call('PUT', `/users/${users.other.id}`, { as: users[who], body: { password: 'brand-new-password' } })
    expect(other.status).toBe(404)
    expect(other.body).toEqual({ error: 'User not found', message: `The user with ID ${users.other.id} does not exist.` })
    const ownRole = await call('PUT', `/users/${users[who].id}`, { as: users[who], body: { role: 'admin' } })
    expect(ownRole.status).toBe(403)
    const [row] = await query('SELECT role, token_version FROM users WHERE id = $1', [users[who].id])
    expect(row).toEqual({ role: who, token_version: 0 })
  })

  test('an admin changes a role; existing tokens carry the new role at once', async () => {
    const token = await tokenFor(users.customer)
    expect((await call('GET', '/users', { as: { token } })).status).toBe(403)
    const response = await call('PUT', `/users/${users.customer.id}`, { as: users.admin, body: { role: 'admin' } })
    expect(response.status).toBe(200)
    expect(response.body.role).toBe('admin')
    expect((await call('GET', '/users', { as: { token } })).status).toBe(200)
    expect((await call('GET', '/users', { as: users.customer })).status).toBe(200)
  })

  test('an admin changes anyone\'s password', async () => {
    const response = await call('PUT', `/users/${users.other.id}`, { as: users.admin, body: { password: 'reset-by-admin' } })
    expect(response.status).toBe(200)
    expect((await call('GET', `/users/${users.other.id}`, { as: { ...users.other, password: 'reset-by-admin' } })).status).toBe(200)
  })

  test('the last admin cannot be demoted; with two admins one can', async () => {
    const last = await call('PUT', `/users/${users.admin.id}`, { as: users.admin, body: { role: 'customer' } })
    expect(last.status).toBe(409)
    expect(last.body).toEqual({ error: 'Conflict', message: 'The last admin cannot be demoted.' })
    await call('PUT', `/users/${users.manager.id}`, { as: users.admin, body: { role: 'admin' } })
    expect((await call('PUT', `/users/${users.admin.id}`, { as: users.admin, body: { role: 'customer' } })).status).toBe(200)
  })

  test.each([
    [{}, 'Send a new password, a new role, or both.'],
    [{ password: 'short' }, 'Password must be at least 8 characters long.'],
    [{ role: 'root' }, 'Role must be one of: admin, manager, customer.'],
  ])('invalid body %j → 400', async (body, message) => {
    const response = await call('PUT', `/users/${users.admin.id}`, { as: users.admin, body })
    expect(response.status).toBe(400)
    expect(response.body).toEqual({ error: 'Invalid input', message })
  })

  test('anonymous → 401; unknown id → 404', async () => {
    expect((await call('PUT', `/users/${users.customer.id}`, { body: { password: 'brand-new-password' } })).status).toBe(401)
    const missing = await call('PUT', '/users/4242', { as: users.admin, body: { password: 'brand-new-password' } })
    expect(missing.status).toBe(404)
    expect(missing.body).toEqual({ error: 'User not found', message: 'The user with ID 4242 does not exist.' })
  })
})

describe('DELETE /users/{id}', () => {
  test.each([
    ['anonymous', undefined, 401],
    ['customer', 'customer', 403],
    ['manager', 'manager', 403],
  ] as const)('as %s', async (_, who, status) => {
    const response = await call('DELETE', `/users/${users.other.id}`, { as: who ? users[who] : undefined })
    expect(response.status).toBe(status)
    expect(await query('SELECT 1 FROM users WHERE id = $1', [users.other.id])).toHaveLength(1)
  })

  test('an admin deletes a user: 204, and their warm Basic credentials and tokens fail at once', async () => {
    const token = await tokenFor(users.other)
    expect((await call('GET', `/users/${users.other.id}`, { as: users.other })).status).toBe(200)
    const response = await call('DELETE', `/users/${users.other.id}`, { as: users.admin })
    expect(response.status).toBe(204)
    expect(response.text).toBe('')
    expect(await query('SELECT 1 FROM users WHERE id = $1', [users.other.id])).toHaveLength(0)
    expect((await call('GET', `/users/${users.other.id}`, { as: users.other })).status).toBe(401)
    expect((await call('GET', `/users/${users.other.id}`, { as: { token } })).status).toBe(401)
  })

  test('the last admin cannot be deleted → 409', async () => {
    const response = await call('DELETE', `/users/${users.admin.id}`, { as: users.admin })
    expect(response.status).toBe(409)
    expect(response.body).toEqual({ error: 'Conflict', message: 'The last admin cannot be deleted.' })
    expect(await query("SELECT 1 FROM users WHERE role = 'admin'")).toHaveLength(1)
  })

  test('two admins deleting each other at the same time leave one admin', async () => {
    await call('PUT', `/users/${users.manager.id}`, { as: users.admin, body: { role: 'admin' } })
    const second = { ...users.manager, role: 'admin' as const }
    const results = await Promise.all([
      call('DELETE', `/users/${second.id}`, { as: users.admin }),
      call('DELETE', `/users/${users.admin.id}`, { as: second }),
    ])
    // The loser is refused either by the last-admin rule (409) or, if it started after the
    // winner committed, because its own account is gone (401).
    const statuses = results.map((r) => r.status).sort()
    expect(statuses[0]).toBe(204)
    expect([401, 409]).toContain(statuses[1]!)
    expect(await query("SELECT 1 FROM users WHERE role = 'admin'")).toHaveLength(1)
  })

  test('the last-admin rule holds when both deletions reach the database together', async () => {
    await query("UPDATE users SET role = 'admin' WHERE id = $1", [users.manager.id])
    const outcomes = await Promise.allSettled([deleteUser(users.admin.id), deleteUser(users.manager.id)])
    expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected'])
    const refusal = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult
    expect(refusal.reason).toMatchObject({ status: 409, message: 'The last admin cannot be deleted.' })
    expect(await query("SELECT 1 FROM users WHERE role = 'admin'")).toHaveLength(1)
  })

  test('unknown id → 404', async () => {
    const response = await call('DELETE', '/users/4242', { as: users.admin })
    expect(response.status).toBe(404)
    expect(response.body).toEqual({ error: 'User not found', message: 'The user with ID 4242 does not exist.' })
  })
})

describe('changes made by another process', () => {
  test('a password change announced by another process ends this process\'s cached Basic verification', async () => {
    const stop = listenForUserChanges()
    try {
      // Wait until the listener is connected (the cache is bypassed until then).
      for (let i = 0; i < 200 && (await call('GET', `/users/${users.customer.id}`, { as: users.customer })).status !== 200; i++) await Bun.sleep(10)
      await Bun.sleep(100)
      expect((await call('GET', `/users/${users.customer.id}`, { as: users.customer })).status).toBe(200)

      // What another worker does: change the row and announce it in the same transaction.
      const newHash = await hashPassword('changed-elsewhere')
      await dataSource.transaction(async (manager) => {
        await manager.query('UPDATE users SET password_hash = $1, token_version = token_version + 1 WHERE id = $2', [newHash, users.customer.id])
        await announceUserChange(manager, users.customer.id)
      })
      let status = 200
      for (let i = 0; i < 100 && status === 200; i++) {
        await Bun.sleep(10)
        status = (await call('GET', `/users/${users.customer.id}`, { as: users.customer })).status
      }
      expect(status).toBe(401)
    } finally {
      await stop()
    }
  })
})
