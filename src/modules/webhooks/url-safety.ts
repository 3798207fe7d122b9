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

/** Every address a host name resolves to. */
type Resolve = (hostname: string) => Promise<string[]>
const resolveWithSystem: Resolve = async (hostname) => (await lookup(hostname, { all: true, verbatim: true })).map((entry) => entry.address)

/**
 * Where a URL may be called: `refusal`, one of the messages above, when it may not; otherwise
 * `address`, the checked address to connect to when the URL names a host (see `fetchChecked`).
 */
export interface Destination {
  refusal?: string
  address?: string
}

/**
 * Resolves and checks a URL: every address its host name resolves to must be public. Checked at
 * registration and again before each job's attempts, since DNS answers change.
 */
export async function checkDestination(url: string, mustBePublic = WEBHOOK_URLS_MUST_BE_PUBLIC, resolve = resolveWithSystem): Promise<Destination> {
  if (!mustBePublic) return {}
  const { protocol, hostname } = new URL(url)
  if (protocol !== 'https:') return { refusal: HTTPS_REQUIRED }
  const host = hostname.replace(/^\[(.*)\]$/, '$1')
  if (ipaddr.isValid(host)) return isPublicAddress(host) ? {} : { refusal: PRIVATE_ADDRESS }
  let addresses: string[]
  try {
    addresses = await resolve(host)
  } catch {
    return { refusal: UNRESOLVABLE }
  }
  if (!addresses.length) return { refusal: UNRESOLVABLE }
  if (!addresses.every(isPublicAddress)) return { refusal: PRIVATE_ADDRESS }
  // IPv4 first: a container without IPv6 routes can still reach a name that has both.
  return { address: addresses.find((address) => ipaddr.IPv4.isValid(address)) ?? addresses[0] }
}

/** Why this URL may not be called, or undefined. */
export const refusalOf = async (url: string, mustBePublic = WEBHOOK_URLS_MUST_BE_PUBLIC): Promise<string | undefined> =>
  (await checkDestination(url, mustBePublic)).refusal

/**
 * fetch() to the address that was checked, not to whatever the host name resolves to a moment
 * later: a name that answered with a public address for the check and then with a private one
 * (DNS rebinding) would otherwise be called on the private one. The request goes to the address
 * with the URL's Host header, and TLS sends the host name (SNI) and verifies the certificate
 * against it, as a request to the name would.
 */
export function fetchChecked(url: string, destination: Destination, init: BunFetchRequestInit): Promise<Response> {
  if (!destination.address) return fetch(url, init)
  const target = new URL(url)
  const { host, hostname } = target
  target.hostname = destination.address.includes(':') ? `[${destination.address}]` : destination.address
  const headers = new Headers(init.headers)
  headers.set('host', host)
  return fetch(target, { ...init, headers, tls: { ...init.tls, serverName: hostname } })
}
