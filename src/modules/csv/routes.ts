import { Elysia } from 'elysia'
import { z } from 'zod'
import { config } from '../../config'
import { errorResponses } from '../../http/error-responses'
import { invalidInput, payloadTooLarge, unsupportedCsvMediaType } from '../../http/errors'
import type { CsvBody } from '../../http/json-body'
import { authPlugin } from '../auth/plugin'
import { exportProductsCsv } from './export'
import { importProducts } from './import'
import { EXPORT_COLUMNS } from './sql'
import { exportQuery, IMPORT_EXAMPLE, importQuery, importResult } from './schemas'

const EXPORT_EXAMPLE = [
  EXPORT_COLUMNS.join(','),
  `12,DRL-18V-02,Cordless drill,"18 V, two batteries.",89.90,25,10,Power tools,2026-01-31T12:00:00.000Z,2026-02-03T08:30:00.000Z`,
  `13,,'=SUM(A1),,4.00,0,5,,2026-01-31T12:00:00.000Z,2026-01-31T12:00:00.000Z`,
  '',
].join('\r\n')

const csvFile = (example: string) => z.string().meta({ contentMediaType: 'text/csv', example })

const INJECTION_RULE =
  'A cell starting with `=`, `+`, `-`, `@`, tab or CR (what a spreadsheet would run as a formula) is written with a leading `\'`, and the import strips that one `\'` again.'

export const csvRoutes = new Elysia({ prefix: '/products', tags: ['Products'] })
  .use(authPlugin)
  .get(
    '/export',
    async ({ query }) =>
      new Response(await exportProductsCsv(query), {
        headers: { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': 'attachment; filename="products.csv"' },
      }),
    {
      role: ['manager', 'admin'],
      query: exportQuery,
      response: {
        200: csvFile(EXPORT_EXAMPLE).meta({ description: 'The products as CSV (RFC 4180, UTF-8, a header row), as a download `products.csv`.' }),
        ...errorResponses(invalidInput('Query parameter sort must be one of: name, -name, price, -price, stock, -stock, created_at, -created_at.')),
      },
      detail: {
        summary: 'Export products as CSV',
        description: `Managers and admins. Columns ${EXPORT_COLUMNS.map((column) => `\`${column}\``).join(', ')}; \`categories\` holds the names joined by \`|\`, an empty cell is no value. Takes the filters and sort of \`GET /products\` (no pages: every match), streamed in constant memory. ${INJECTION_RULE}`,
      },
    },
  )
  .post(
    '/import',
    ({ body, query, user, request, server }) => {
      // A large import runs longer than REQUEST_TIMEOUT_SECONDS without a byte to send; each of
      // its statements stays bounded by DATABASE_STATEMENT_TIMEOUT_MS.
      server?.timeout(request, 0)
      return importProducts(body as CsvBody, { dryRun: query.dry_run, userId: user.id })
    },
    {
      role: ['manager', 'admin'],
      query: importQuery,
      response: {
        200: importResult,
        ...errorResponses(
          invalidInput('Row 17: Product price is required.'),
          invalidInput("Row 1: Unknown column; the columns are sku, name, description, price, stock, low_stock_threshold, categories (and the export's id, created_at, updated_at, ignored)."),
          invalidInput('Row 5: Each category must be the name of an existing category.'),
          invalidInput('Row 9: This SKU appears on an earlier row of the file.'),
          invalidInput('Row 3: A quoted field is not closed.'),
          invalidInput('The CSV file must be encoded in UTF-8.'),
          payloadTooLarge(config.IMPORT_BODY_LIMIT_BYTES),
          unsupportedCsvMediaType(),
        ),
      },
      detail: {
        summary: 'Import products from CSV',
        description: `Managers and admins. A \`text/csv\` body (UTF-8, with or without BOM; at most IMPORT_BODY_LIMIT_BYTES) with a header row of columns among \`sku, name, description, price, stock, low_stock_threshold, categories\`: \`sku\` and \`name\` required, any others in any order; the export's \`id\`, \`created_at\` and \`updated_at\` are accepted and ignored, so an export imports back unchanged. A row whose SKU (regardless of case) is a product's updates it, any other creates one (\`price\` required; \`stock\` 0 and the default threshold when empty). An empty cell keeps the product's value, except an empty \`description\` (none) and \`categories\` (none; category names joined by \`|\`, each an existing category). All or nothing: the first bad row is named in the 400 (the header is row 1) and nothing is written. Stock changes are ledger movements with reason \`import\`; falling below the threshold records an alert. \`?dry_run=true\` validates and counts without writing. ${INJECTION_RULE}`,
        requestBody: {
          required: true,
          content: { 'text/csv': { schema: { type: 'string', contentMediaType: 'text/csv' }, example: IMPORT_EXAMPLE } },
        },
      },
    },
  )
