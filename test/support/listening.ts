import { afterAll, beforeAll } from 'bun:test'
import { createApp } from '../../src/app'

/**
 * The app on a real socket (127.0.0.1, a free port) for the tests of the enclosing describe: for
 * what app.handle() has no socket for (the client address, the event loop under load).
 */
export function listening(): { readonly url: string } {
  let server: ReturnType<typeof createApp> | undefined
  const handle = { url: '' }
  beforeAll(() => {
    server = createApp().listen({ hostname: '127.0.0.1', port: 0 })
    handle.url = `http://127.0.0.1:${server.server!.port}`
  })
  afterAll(() => server?.stop(true))
  return handle
}
