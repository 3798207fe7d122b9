import { z } from 'zod'
import { fieldMessages } from '../../http/validation'

export const loginBody = z
  .object({
    username: z.string({ error: fieldMessages('Username') }).min(1, { error: fieldMessages('Username') }).max(50, {
      error: fieldMessages('Username'),
    }),
    password: z.string({ error: fieldMessages('Password') }).min(1, { error: fieldMessages('Password') }).max(128, {
      error: fieldMessages('Password'),
    }),
  })
  .meta({ description: 'Optional when the request carries Basic credentials.', example: { username: 'alice', password: 'correct-horse-battery' } })

export const tokenResponse = z
  .object({
    access_token: z.string(),
    token_type: z.literal('Bearer'),
    expires_in: z.int(),
  })
  .meta({ example: { access_token: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9…', token_type: 'Bearer', expires_in: 3600 } })
