import { z } from 'zod'
import { fieldMessages } from '../../http/validation'
import { PASSWORD_LENGTH, USERNAME_LENGTH } from '../users/username'

export const loginBody = z
  .object({
    username: z
      .string({ error: fieldMessages('Username') })
      .min(1, { error: fieldMessages('Username') })
      .max(USERNAME_LENGTH.max, { error: fieldMessages('Username') })
      .meta({ description: 'Case-insensitive.', example: 'alice' }),
    password: z
      .string({ error: fieldMessages('Password') })
      .min(1, { error: fieldMessages('Password') })
      .max(PASSWORD_LENGTH.max, { error: fieldMessages('Password') })
      .meta({ description: 'The account password.', example: 'correct-horse-battery' }),
  })
  .meta({ description: 'Optional when the request carries Basic credentials.', example: { username: 'alice', password: 'correct-horse-battery' } })

export const tokenResponse = z
  .object({
    access_token: z.string(),
    token_type: z.literal('Bearer'),
    expires_in: z.int(),
  })
  .meta({
    description: 'A JWT to send as `Authorization: Bearer <access_token>`, valid for `expires_in` seconds.',
    example: { access_token: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9…', token_type: 'Bearer', expires_in: 3600 },
  })
