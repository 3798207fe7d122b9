import 'reflect-metadata'
import { resolve } from 'node:path'
import type { Pool } from 'pg'
import { DataSource } from 'typeorm'
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver.js'
import { config } from '../config'
import { Alert } from '../modules/alerts/alert.entity'
import { Category } from '../modules/categories/category.entity'
import { IdempotencyKey } from '../modules/idempotency/idempotency-key.entity'
import { Order } from '../modules/orders/order.entity'
import { Product } from '../modules/products/product.entity'
import { StockMovement } from '../modules/products/stock-movement.entity'
import { User } from '../modules/users/user.entity'
import { WebhookDelivery } from '../modules/webhooks/webhook-delivery.entity'
import { WebhookEndpoint } from '../modules/webhooks/webhook-endpoint.entity'
import { BoundedClient, CLIENT_TIMEOUT_MARGIN_MS } from './bounded-client'
import { embeddedUrl } from './embedded'
import { ScheduledJob } from './scheduled-job.entity'

/** Without DATABASE_URL the embedded PostgreSQL is used (see db/embedded.ts), at a fixed address. */
export const databaseUrl = config.DATABASE_URL ?? embeddedUrl(config.EMBEDDED_PG_PORT)

/** The one DataSource: the app, the migration CLI and the tests all use this instance. */
export const dataSource = new DataSource({
  type: 'postgres',
  url: databaseUrl,
  entities: [User, Category, Product, StockMovement, Order, Alert, IdempotencyKey, ScheduledJob, WebhookEndpoint, WebhookDelivery],
  migrations: [resolve(import.meta.dir, '../../migrations/*.ts')],
  migrationsTableName: 'migrations',
  synchronize: false,
  // Failed queries are logged by the error handler, without their parameters (they may hold hashes).
  logging: false,
  extra: {
    max: config.DATABASE_POOL_SIZE,
    connectionTimeoutMillis: config.DATABASE_POOL_TIMEOUT_MS,
    statement_timeout: config.DATABASE_STATEMENT_TIMEOUT_MS || undefined,
    // The same bound on the client side: a server that stops answering (frozen, partitioned) cannot
    // enforce its own statement_timeout. A query past it fails and its connection is destroyed.
    query_timeout: config.DATABASE_STATEMENT_TIMEOUT_MS ? config.DATABASE_STATEMENT_TIMEOUT_MS + CLIENT_TIMEOUT_MARGIN_MS : undefined,
    Client: BoundedClient,
    application_name: 'inventory-api',
  },
})

/** The pg pool TypeORM opened, for the statements that go past its query runner (same connections, same timeouts). */
export const driverPool = (): Pool => (dataSource.driver as PostgresDriver).master
