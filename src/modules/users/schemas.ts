import { z } from 'zod'
import { pagination, pageSchema } from '../../http/pagination'
import { fieldMessages, pathId, text } from '../../http/validation'
import { ROLES } from './user.entity'
import { PASSWORD_LENGTH, USERNAME_CHARACTERS, USERNAME_LENGTH } from './username'

const roleError = fieldMessages('Role')


export const createUserBody = z.object({
  username: text('Username', USERNAME_LENGTH.min, USERNAME_LENGTH.max)
    .regex(USERNAME_CHARACTERS, { error: 'Username may contain only letters, digits, "_", "." and "-".' })
    .meta({ description: 'Unique, case-insensitive; 3–50 letters, digits, `_`, `.`, `-`.', example: 'alice' }),
  // Not trimmed: spaces are legitimate password characters.
  password: z
    .string({ error: fieldMessages('Password') })
    .min(PASSWORD_LENGTH.min, { error: fieldMessages('Password') })
    .max(PASSWORD_LENGTH.max, { error: fieldMessages('Password') })
    .meta({ description: '8–128 characters.', example: 'correct-horse-battery' }),
  role: z.enum(ROLES, { error: roleError }).default('customer').meta({
    description: '`customer` for anyone; `manager` and `admin` only when an admin creates the user.',
    example: 'customer',
  }),
})

export const updateUserBody = z
  .object({
    password: createUserBody.shape.password.optional(),
    role: z.enum(ROLES, { error: roleError }).optional().meta({ description: 'Admins only.', example: 'manager' }),
  })
  .refine((body) => body.password !== undefined || body.role !== undefined, {
    error: 'Send a new password, a new role, or both.',
    path: ['password'],
  })

export const userSchema = z
  .object({
    id: z.int(),
    username: z.string(),
    role: z.enum(ROLES),
    created_at: z.iso.datetime(),
  })
  .meta({
    description: 'A user account (the password never leaves the server).',
    example: { id: 7, username: 'alice', role: 'customer', created_at: '2026-01-31T12:00:00.000Z' },
  })

export const userParams = pathId('User ID')
export const userListQuery = z.object(pagination)
export const userPage = pageSchema(userSchema)
