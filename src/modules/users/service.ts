import { QueryFailedError } from 'typeorm'
import { dataSource } from '../../db/data-source'
import { conflict, notFound } from '../../http/errors'
import type { Page } from '../../http/validation'
import { hashPassword } from '../auth/passwords'
import { User, type Role } from './user.entity'

export interface PublicUser {
  id: number
  username: string
  role: Role
  created_at: string
}

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

const isUniqueViolation = (error: unknown) =>
  error instanceof QueryFailedError && (error.driverError as { code?: string }).code === '23505'

export async function createUser(input: { username: string; password: string; role: Role }): Promise<PublicUser> {
  const passwordHash = await hashPassword(input.password)
  try {
    const user = await users().save(users().create({ username: input.username, passwordHash, role: input.role }))
    return toPublicUser(user)
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict('The username is already taken.')
    throw error
  }
}

export async function getUser(id: number): Promise<PublicUser> {
  const user = await users().findOneBy({ id })
  if (!user) throw notFound('User', id)
  return toPublicUser(user)
}

export async function listUsers(limit: number, offset: number): Promise<Page<PublicUser>> {
  const [rows, total] = await users().findAndCount({ order: { id: 'ASC' }, take: limit, skip: offset })
  return { items: rows.map(toPublicUser), total, limit, offset }
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
    if (error instanceof Error && 'status' in error && error.status === 409) return undefined
    throw error
  }
  return password ? undefined : chosen
}
