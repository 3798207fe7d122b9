import { Elysia } from 'elysia'
import { config } from '../../config'
import { clientAddress } from '../../http/client-address'
import { errorResponses, JSON_BODY_ERRORS } from '../../http/error-responses'
import { invalidInput, unauthorized } from '../../http/errors'
import { decodeBasic, parseAuthorization } from './credentials'
import { THROTTLE_ERRORS } from './throttle'
import { loginBody, tokenResponse } from './schemas'
import { authenticatePassword, invalidCredentials } from './service'
import { tokenSigner } from './tokens'

const noCredentials = () => unauthorized('Send Basic credentials or a JSON body with username and password.')

function basicCredentials(header: string | null) {
  const credentials = parseAuthorization(header)
  return credentials?.scheme === 'basic' ? decodeBasic(credentials.value) : undefined
}

export const authRoutes = new Elysia({ tags: ['Authentication'] })
  .use(tokenSigner)
  .post(
    '/login',
    async ({ body, request, jwt, set, server }) => {
      const credentials = body ?? basicCredentials(request.headers.get('authorization'))
      if (!credentials) throw noCredentials()
      const user = await authenticatePassword(credentials.username, credentials.password, clientAddress(request, server))
      const access_token = await jwt.sign({
        sub: String(user.id),
        username: user.username,
        role: user.role,
        ver: user.tokenVersion,
        exp: `${config.JWT_EXPIRES_IN}s`,
      })
      set.headers['cache-control'] = 'no-store'
      return { access_token, token_type: 'Bearer' as const, expires_in: config.JWT_EXPIRES_IN }
    },
    {
      body: loginBody.nullable(),
      response: {
        200: tokenResponse,
        ...errorResponses(
          invalidInput('Username is required.'),
          invalidInput('Password is required.'),
          ...JSON_BODY_ERRORS,
          invalidCredentials(),
          noCredentials(),
          ...THROTTLE_ERRORS,
        ),
      },
      detail: {
        // Anonymous, or Basic: "Authorize" in Swagger UI then logs in with the credentials entered there.
        security: [{}, { basic: [] }],
        summary: 'Log in and get a JWT',
        description:
          'Authenticate with Basic credentials or a JSON body `{username, password}` and receive a Bearer token. Password checks are throttled (429 with Retry-After): LOGIN_MAX_FAILURES failures per username and LOGIN_ADDRESS_MAX_FAILURES per client address in a window of LOGIN_LOCKOUT_SECONDS, shared by every process; and PASSWORD_CHECKS_PER_ADDRESS checks at a time per address.',
      },
    },
  )
