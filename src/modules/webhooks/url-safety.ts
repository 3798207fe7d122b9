import { lookup } from 'node:dns/promises'
import ipaddr from 'ipaddr.js'
import { config } from '../../config'

/** In production, webhooks reach only public https URLs, unless WEBHOOK_ALLOW_PRIVATE is set (tests, local development). */
export const WEBHOOK_URLS_MUST_BE_PUBLIC = config.NODE_ENV === 'production' && !config.WEBHOOK_ALLOW_PRIVATE

export const HTTPS_REQUIRED = 'Webhook URL must use https.'
export const PRIVATE_ADDRESS = 'Webhook URL must not point to a loopback, private, link-local or metadata address.'
export const UNRESOLVABLE = 'Webhook URL host name could not be resolved.'

/** ipaddr.js calls a public address "unicast"; loopback, private, link-local (the metadata address), CGNAT, multicast and reserved ranges are not. */
const isPublicAddress = (address: string) => ipaddr.process(address).range() === 'unicast'

/**
 * Why this URL may not be called (one of the messages above), or undefined. Every address the
 * host name resolves to must be public: checked at registration and again before each attempt,
 * since DNS answers change.
 */
export async function refusalOf(url: string, mustBePublic = WEBHOOK_URLS_MUST_BE_PUBLIC): Promise<string | undefined> {
  if (!mustBePublic) return undefined
  const { protocol, hostname } = new URL(url)
  if (protocol !== 'https:') return HTTPS_REQUIRED
  const host = hostname.replace(/^\[(.*)\]$/, '$1')
  let addresses: string[]
  try {
    addresses = ipaddr.isValid(host) ? [host] : (await lookup(host, { all: true, verbatim: true })).map((entry) => entry.address)
  } catch {
    return UNRESOLVABLE
  }
  return addresses.every(isPublicAddress) ? undefined : PRIVATE_ADDRESS
}
