import { unauthorized } from '../../http/errors'

export const missingCredentials = () => unauthorized('Authentication is required: send Basic credentials or a Bearer token.')
export const malformedHeader = () => unauthorized('The Authorization header is malformed.')

/**
 * The one parser of the Authorization header: `scheme` lower-cased (scheme names are
 * case-insensitive, RFC 9110), `value` as sent. Basic's base64 stays undecoded here, so that a
 * recent verification can be found from the text itself (see authenticateBasic).
 */
export function parseAuthorization(header: string | null): { scheme: string; value: string } | undefined {
  if (!header) return undefined
  const space = header.indexOf(' ')
  return {
    scheme: (space < 0 ? header : header.slice(0, space)).toLowerCase(),
    value: space < 0 ? '' : header.slice(space + 1).trim(),
  }
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/
const utf8 = new TextDecoder('utf-8', { fatal: true })

/** RFC 7617: base64 of UTF-8 "user:password", split at the first colon. */
export function decodeBasic(encoded: string): { username: string; password: string } {
  if (!encoded || encoded.length % 4 !== 0 || !BASE64.test(encoded)) throw malformedHeader()
  let decoded: string
  try {
    decoded = utf8.decode(Buffer.from(encoded, 'base64'))
  } catch {
    throw malformedHeader()
  }
  const colon = decoded.indexOf(':')
  if (colon < 1) throw malformedHeader()
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
}
