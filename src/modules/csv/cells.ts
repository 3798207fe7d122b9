/**
 * OWASP's CSV-injection advice: a cell a spreadsheet would run as a formula (starting with `=`,
 * `+`, `-`, `@`, tab or CR) is written with a leading `'`, which spreadsheets show as text. Cells
 * that already start with quotes before such a character get one more, so that the import, which
 * strips exactly one, reads back every text as it was.
 */
const FORMULA_LIKE = /^'*[=+\-@\t\r]/
const NEUTRALISED = /^'+[=+\-@\t\r]/

export const neutraliseFormula = (cell: string) => (FORMULA_LIKE.test(cell) ? `'${cell}` : cell)

export const restoreFormula = (cell: string) => (NEUTRALISED.test(cell) ? cell.slice(1) : cell)
