/**
 * OWASP's CSV-injection advice: a cell a spreadsheet would run as a formula (starting with `=`,
 * `+`, `-`, `@`, tab or CR) is written with a leading `'`, which spreadsheets show as text. Cells
 * that already start with quotes before such a character get one more, so that the import, which
 * strips exactly one, reads back every text as it was.
 */
// One pattern for both sides: the export applies it in PostgreSQL (ARE reads \t and \r in brackets
// as JS does), the import in JS.
const FORMULA_LIKE = "^'*[=+@\\t\\r-]"
const NEUTRALISED = /^'+[=+@\t\r-]/

/** The SQL of a text expression as the export writes it: with one more leading `'` where formula-like. */
export const neutralisedSql = (expression: string) =>
  `CASE WHEN ${expression} ~ '${FORMULA_LIKE.replaceAll("'", "''")}' THEN '''' || ${expression} ELSE ${expression} END`

export const restoreFormula = (cell: string) => (NEUTRALISED.test(cell) ? cell.slice(1) : cell)
