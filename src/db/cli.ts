/**
 * Migration commands that also work on the embedded database:
 *   bun run db:migrate            apply pending migrations
 *   bun run db:revert             revert the last applied migration
 *   bun run db:generate <Name>    write migrations/<timestamp>-<Name>.ts from the entity changes
 */
import { config } from '../config'
import { dataSource, databaseUrl } from './data-source'
import { migrateDatabase, openDatabase } from './database'

const [command, name] = process.argv.slice(2)
const close = await openDatabase({ migrate: false })
let exitCode = 0
try {
  if (command === 'migrate') {
    const applied = await migrateDatabase()
    console.log(applied.length ? `Applied: ${applied.map((m) => m.name).join(', ')}` : 'No pending migrations.')
  } else if (command === 'revert') {
    await dataSource.undoLastMigration({ transaction: 'each' })
    console.log('Reverted the last migration.')
  } else if (command === 'generate' && name) {
    await dataSource.destroy()
    const child = Bun.spawn(
      ['bun', './node_modules/typeorm/cli.js', 'migration:generate', '-d', 'src/db/data-source.ts', `migrations/${name}`],
      { env: { ...process.env, DATABASE_URL: config.DATABASE_URL ?? databaseUrl }, stdio: ['inherit', 'inherit', 'inherit'] },
    )
    exitCode = await child.exited
  } else {
    console.error('usage: bun src/db/cli.ts migrate | revert | generate <Name>')
    exitCode = 2
  }
} catch (error) {
  console.error(error instanceof Error ? error.message : error)
  exitCode = 1
} finally {
  await close()
}
process.exit(exitCode)
