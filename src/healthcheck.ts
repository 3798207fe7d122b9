/**
 * Container health check: exits 0 when GET /health/ready answers 200, else 1. Run by the
 * Dockerfile's HEALTHCHECK with the image's own bun (the image has no curl). Reads only PORT, so a
 * problem elsewhere in the configuration cannot make the check itself fail.
 */
export {}

const port = process.env.PORT || '3000'
try {
  const response = await fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(2500) })
  process.exit(response.status === 200 ? 0 : 1)
} catch {
  process.exit(1)
}
