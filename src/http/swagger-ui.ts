import { dirname, join } from 'node:path'
import { Elysia, NotFoundError } from 'elysia'
import { quietRequest } from './request-context'

const distDir = dirname(Bun.resolveSync('swagger-ui-dist/package.json', import.meta.dir))
const distVersion: string = (await Bun.file(join(distDir, 'package.json')).json()).version

/** The only files served from swagger-ui-dist, with their content types (nosniff is on for every response). */
const ASSETS: Record<string, string> = {
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui.css': 'text/css; charset=utf-8',
  'favicon-32x32.png': 'image/png',
  'favicon-16x16.png': 'image/png',
}

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)

function page(options: { title: string; assetsPath: string; specPath: string }) {
  // The version in the asset URLs lets browsers cache them for long and still see an upgrade.
  const asset = (name: string) => `${options.assetsPath}/${name}?v=${distVersion}`
  const settings = {
    url: options.specPath,
    dom_id: '#swagger-ui',
    deepLinking: true,
    // Keeps what was entered in "Authorize" (browser localStorage) across reloads.
    persistAuthorization: true,
    displayRequestDuration: true,
    // The default validator badge would call validator.swagger.io.
    validatorUrl: null,
  }
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <meta name="viewport" content="width=device-width, initial-scale=1" />
  <title>${escapeHtml(options.title)}</title>
  <link rel="icon" type="image/png" sizes="32x32" href="${asset('favicon-32x32.png')}" />
  <link rel="icon" type="image/png" sizes="16x16" href="${asset('favicon-16x16.png')}" />
  <link rel="stylesheet" href="${asset('swagger-ui.css')}" />
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="${asset('swagger-ui-bundle.js')}"></script>
  <script>
    window.ui = SwaggerUIBundle(Object.assign(${JSON.stringify(settings)}, {
      // Every 401 carries WWW-Authenticate: Basic; a request with credentials would make the browser
      // answer it with its own login dialog. The API uses no cookies, so omitting them loses nothing.
      requestInterceptor: (request) => Object.assign(request, { credentials: 'omit' }),
    }));
  </script>
</body>
</html>
`
}

/**
 * Swagger UI with its assets served from the swagger-ui-dist package, so the page works with no
 * internet. The document itself comes from the openapi plugin at `specPath`; the page uses
 * absolute paths so `/swagger` and `/swagger/` both load it, and "Try it out" calls this origin
 * (the document declares no `servers`).
 */
export function swaggerUi(options: { path: string; specPath: string; title: string }) {
  const assetsPath = `${options.path}/assets`
  const html = page({ title: options.title, assetsPath, specPath: options.specPath })
  return new Elysia({ name: 'swagger-ui', seed: options })
    .get(
      options.path,
      ({ set }) => {
        set.headers['content-type'] = 'text/html; charset=utf-8'
        set.headers['cache-control'] = 'no-cache'
        return html
      },
      { detail: { hide: true } },
    )
    .get(
      `${assetsPath}/:file`,
      ({ params, request }) => {
        const contentType = ASSETS[params.file]
        if (!contentType) throw new NotFoundError()
        quietRequest(request)
        return new Response(Bun.file(join(distDir, params.file)), {
          headers: { 'content-type': contentType, 'cache-control': 'public, max-age=31536000, immutable' },
        })
      },
      { detail: { hide: true } },
    )
}

export const swaggerAssetNames = Object.keys(ASSETS)
