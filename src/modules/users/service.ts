import type { EntityManager } from 'typeorm'
import type { z } from 'zod'
import { dataSource } from '../../db/data-source'
import { preparedQuery } from '../../db/prepared'
import { onUniqueViolation } from '../../db/errors'
import { conflict, forbidden, HttpError, notFound } from '../../http/errors'
import { fetchPage, listScope, pageRequest, type Page, type PageQuery, type PagedRow } from '../../http/pagination'
import { hashPassword } from '../auth/passwords'
import { announceUserChange, forgetLocally } from '../auth/user-changes'
import type { createUserBody, updateUserBody, userSchema } from './schemas'
import { USER_LIST } from './sql'
import { User, type Role } from './user.entity'

export type PublicUser = z.output<typeof userSchema>

/** What authentication needs to know about a user; never serialised. */
export interface AuthUser {
  id: number
  username: string
  role: Role
  tokenVersion: number
  passwordHash: string
}

const users = () => dataSource.getRepository(User)

export const toPublicUser = (user: User): PublicUser => ({
  id: user.id,
  username: user.username,
  role: user.role,
  created_at: user.createdAt.toISOString(),
})

async function createUser(input: z.output<typeof createUserBody>): Promise<PublicUser> {
  const passwordHash = await hashPassword(input.password)
  const user = await onUniqueViolation(
    () => users().save(users().create({ username: input.username, passwordHash, role: input.role })),
    () => conflict('The username is already taken.'),
  )
  return toPublicUser(user)
}

export interface Actor {
  id: number
  role: Role
}

/** Anyone may register a customer; only an admin may create managers and admins. */
export async function registerUser(actor: Actor | null, input: z.output<typeof createUserBody>): Promise<PublicUser> {
  if (input.role !== 'customer' && actor?.role !== 'admin') throw forbidden()
  return createUser(input)
}

/** Admins read anyone; everyone else only themselves: another account reads as absent. */
export async function getUser(actor: Actor, id: number): Promise<PublicUser> {
  if (actor.role !== 'admin' && actor.id !== id) throw notFound('User', id)
  const user = await users().findOneBy({ id })
  if (!user) throw notFound('User', id)
  return toPublicUser(user)
}

type UserRow = Omit<PublicUser, 'created_at'> & { created_at: Date } & PagedRow

export async function listUsers(query: PageQuery): Promise<Page<PublicUser>> {
  const request = pageRequest(query, listScope('users', {}))
  return fetchPage(preparedQuery<UserRow>, USER_LIST, request, (row) => ({
    id: row.id,
    username: row.username,
    role: row.role,
    created_at: row.created_at.toISOString(),
  }))
}

/**
 * A user changes their own password; an admin changes anyone's password or role. Another user's
 * account reads as absent to non-admins. A password change ends every token issued before it; a
 * role change applies to existing tokens at once (the role is read from the database).
 */
export async function updateUser(
  actor: Actor,
  id: number,
  changes: z.output<typeof updateUserBody>,
): Promise<PublicUser> {
  if (changes.role !== undefined && actor.role !== 'admin') throw forbidden()
  if (actor.role !== 'admin' && actor.id !== id) throw notFound('User', id)
  const passwordHash = changes.password === undefined ? undefined : await hashPassword(changes.password)
  const updated = await dataSource.transaction(async (manager) => {
    const { user, admins } = await lockUserAndAdmins(manager, id)
    if (changes.role !== undefined && changes.role !== 'admin' && user.role === 'admin' && admins <= 1) {
      throw conflict('The last admin cannot be demoted.')
    }
    if (changes.role !== undefined) user.role = changes.role
    if (passwordHash !== undefined) {
      user.passwordHash = passwordHash
      user.tokenVersion += 1
    }
    const saved = await manager.save(user)
    await announceUserChange(manager, id)
    return saved
  })
  forgetLocally(id)
  return toPublicUser(updated)
}

/** Deletes a user (their orders stay, without an owner); never the last admin. */
export async function deleteUser(id: number): Promise<void> {
  await dataSource.transaction(async (manager) => {
    const { user, admins } = await lockUserAndAdmins(manager, id)
    if (user.role === 'admin' && admins <= 1) throw conflict('The last admin cannot be deleted.')
    await manager.delete(User, { id })
    await announceUserChange(manager, id)
  })
  forgetLocally(id)
}

/**
 * Locks the user and every admin in one statement, in id order: two concurrent demotions or
 * deletions then queue up (no deadlock) and the second sees the first's outcome.
 */
async function lockUserAndAdmins(manager: EntityManager, id: number): Promise<{ user: User; admins: number }> {
  const locked: Array<{ id: number; role: Role }> = await manager.query(
    "SELECT id, role FROM users WHERE id = $1 OR role = 'admin' ORDER BY id FOR UPDATE",
    [id],
  )
  const user = locked.some((row) => row.id === id) ? await manager.findOneBy(User, { id }) : null
  if (!user) throw notFound('User', id)
  return { user, admins: locked.filter((row) => row.role === 'admin').length }
}

const AUTH_USER_SQL = `SELECT id, username, role, token_version AS "tokenVersion", password_hash AS "passwordHash" FROM users`

export async function findAuthUserById(id: number): Promise<AuthUser | undefined> {
  const rows: AuthUser[] = await dataSource.query(`${AUTH_USER_SQL} WHERE id = $1`, [id])
  return rows[0]
}

export async function findAuthUserByName(username: string): Promise<AuthUser | undefined> {
  const rows: AuthUser[] = await dataSource.query(`${AUTH_USER_SQL} WHERE lower(username) = lower($1)`, [username])
  return rows[0]
}

/**
 * Creates the initial admin if that username does not exist yet. Returns the password when it
 * had to be generated (allowed outside production), so the caller can print it once.
 */
export async function ensureAdmin(
  username: string,
  password: string | undefined,
  mayGenerate: boolean,
): Promise<string | undefined> {
  if ((!password && !mayGenerate) || (await findAuthUserByName(username))) return undefined
  const chosen = password ?? Buffer.from(crypto.getRandomValues(new Uint8Array(18))).toString('base64url')
  try {
    await createUser({ username, password: chosen, role: 'admin' })
  } catch (error) {
    // Another process (a second worker) created it first.
    if (error instanceof HttpError && error.status === 409) return undefined
    throw error
  }
  return password ? undefined : chosen
}
