import type { MigrationInterface, QueryRunner } from 'typeorm'

/**
 * Webhook endpoints and their deliveries (the transactional outbox), and the triggers that write
 * them: every statement that inserts movements, alerts or orders, or changes an order's status,
 * writes one delivery per event and subscribed endpoint in that statement's transaction, so every
 * path emits with no code of its own and the one-statement order keeps its one round trip. The
 * triggers queue no job themselves: graphile-worker's add_jobs() always NOTIFYs, and PostgreSQL
 * commits transactions that NOTIFY one at a time. The relay task (src/modules/webhooks/relay.ts)
 * moves unqueued deliveries into jobs in batches, off the change's transaction. The graphile_worker
 * schema is installed by its own migrator, which runs before these migrations (src/db/database.ts).
 */
/**
 * The trigger functions: each event type's data, built from the statement's transition table
 * (new_rows, and old_rows for updates) as the API shows the row, with its product. A type no
 * endpoint subscribes to costs one lookup in webhook_endpoints.
 */
const EMITTERS: Array<[name: string, eventType: string, data: string]> = [
  [
    'webhook_stock_changed',
    'stock.changed',
    `SELECT json_build_object('id', m.id, 'product_id', m.product_id, 'delta', m.delta, 'stock_after', m.stock_after,
       'reason', m.reason, 'note', m.note, 'user_id', m.user_id, 'order_id', m.order_id, 'created_at', iso_utc(m.created_at), 'product', webhook_product(p.id, p.sku, p.name))
     FROM new_rows m JOIN products p ON p.id = m.product_id ORDER BY m.id`,
  ],
  [
    'webhook_stock_low',
    'stock.low',
    `SELECT json_build_object('id', a.id, 'product_id', a.product_id, 'product_name', p.name, 'stock', a.stock,
       'threshold', a.threshold, 'order_id', a.order_id, 'created_at', iso_utc(a.created_at), 'product', webhook_product(p.id, p.sku, p.name))
     FROM new_rows a JOIN products p ON p.id = a.product_id ORDER BY a.id`,
  ],
  [
    'webhook_order_created',
    'order.created',
    `SELECT json_build_object('id', o.id, 'product_id', o.product_id, 'user_id', o.user_id, 'quantity', o.quantity,
       'status', o.status, 'created_at', iso_utc(o.created_at), 'updated_at', iso_utc(o.updated_at), 'product', webhook_product(p.id, p.sku, p.name))
     FROM new_rows o JOIN products p ON p.id = o.product_id ORDER BY o.id`,
  ],
  [
    'webhook_order_status_changed',
    'order.status_changed',
    `SELECT json_build_object('id', o.id, 'product_id', o.product_id, 'user_id', o.user_id, 'quantity', o.quantity,
       'status', o.status, 'previous_status', previous.status, 'created_at', iso_utc(o.created_at), 'updated_at', iso_utc(o.updated_at),
       'product', webhook_product(p.id, p.sku, p.name))
     FROM new_rows o JOIN old_rows previous ON previous.id = o.id JOIN products p ON p.id = o.product_id
     WHERE o.status IS DISTINCT FROM previous.status ORDER BY o.id`,
  ],
]

/**
 * Each trigger function's CREATE statement, by name: with an endpoint subscribed to its type, its
 * events' data goes to webhook_enqueue. (Strings, not functions: TypeORM takes every function a
 * migration file exports for a migration.)
 */
export const EMITTER_FUNCTIONS: Record<string, string> = Object.fromEntries(
  EMITTERS.map(([name, eventType, data]) => [
    name,
    `CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF EXISTS (SELECT FROM webhook_endpoints WHERE '${eventType}' = ANY (events)) THEN
          PERFORM webhook_enqueue('${eventType}', ARRAY(${data}));
        END IF;
        RETURN NULL;
      END $$`,
  ]),
)

/** Statement-level with transition tables: one trigger call per statement, whatever its row count (bulk, import). */
export const TRIGGERS: Record<string, string> = {
  stock_movements_webhooks: `CREATE TRIGGER stock_movements_webhooks AFTER INSERT ON stock_movements REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION webhook_stock_changed()`,
  alerts_webhooks: `CREATE TRIGGER alerts_webhooks AFTER INSERT ON alerts REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION webhook_stock_low()`,
  orders_created_webhooks: `CREATE TRIGGER orders_created_webhooks AFTER INSERT ON orders REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION webhook_order_created()`,
  orders_status_webhooks: `CREATE TRIGGER orders_status_webhooks AFTER UPDATE ON orders REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION webhook_order_status_changed()`,
}

export class Webhooks1796122492899 implements MigrationInterface {
  name = 'Webhooks1796122492899'

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE "webhook_endpoints" ("id" SERIAL NOT NULL, "url" character varying(2048) NOT NULL, "events" character varying(32) array NOT NULL, "description" text, "secret" text NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_054c4cfb95223732f5939d2d546" PRIMARY KEY ("id"))`)
    await queryRunner.query(`CREATE TABLE "webhook_deliveries" ("id" BIGSERIAL NOT NULL, "endpoint_id" integer NOT NULL, "event_id" character varying(40) NOT NULL, "event_type" character varying(32) NOT NULL, "payload" json NOT NULL, "status" character varying(16) NOT NULL DEFAULT 'pending', "attempts" integer NOT NULL DEFAULT '0', "last_status_code" integer, "last_error" text, "next_attempt_at" TIMESTAMP WITH TIME ZONE DEFAULT now(), "queued" boolean NOT NULL DEFAULT false, "delivered_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "webhook_deliveries_status_check" CHECK ("status" IN ('pending', 'delivered', 'failed')), CONSTRAINT "PK_535dd409947fb6d8fc6dfc0112a" PRIMARY KEY ("id"))`)
    await queryRunner.query(`CREATE INDEX "webhook_deliveries_endpoint_id_idx" ON "webhook_deliveries" ("endpoint_id", "id") `)
    await queryRunner.query(`CREATE INDEX "webhook_deliveries_unqueued_idx" ON "webhook_deliveries" ("id") WHERE "queued" = false`)
    await queryRunner.query(`ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_endpoint_id_fkey" FOREIGN KEY ("endpoint_id") REFERENCES "webhook_endpoints"("id") ON DELETE CASCADE ON UPDATE NO ACTION`)

    // The API's timestamp format (JavaScript's toISOString), so event bodies read like responses.
    await queryRunner.query(`CREATE FUNCTION iso_utc(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS
      $$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') $$`)
    // The product as events show it; given its columns, not its row, so that no whole row is converted.
    await queryRunner.query(`CREATE FUNCTION webhook_product(id integer, sku text, name text) RETURNS json LANGUAGE sql IMMUTABLE AS
      $$ SELECT json_build_object('id', id, 'sku', sku, 'name', name) $$`)
    // One event per element of \`events\` (its data), its body built once, one delivery row per subscribed endpoint (plpgsql: its plan is cached).
    await queryRunner.query(`CREATE FUNCTION webhook_enqueue(event_type text, events json[]) RETURNS void LANGUAGE plpgsql AS $$
      BEGIN
      WITH event AS MATERIALIZED (
        SELECT id, json_build_object('id', id, 'type', event_type, 'timestamp', iso_utc(now()), 'data', data) AS body
        FROM (SELECT 'evt_' || replace(gen_random_uuid()::text, '-', '') AS id, data FROM unnest(events) AS data) AS made
      )
      INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, payload)
      SELECT endpoint.id, event.id, event_type, event.body
      FROM event CROSS JOIN webhook_endpoints endpoint
      WHERE event_type = ANY (endpoint.events);
      END $$`)

    for (const statement of Object.values(EMITTER_FUNCTIONS)) await queryRunner.query(statement)
    for (const statement of Object.values(TRIGGERS)) await queryRunner.query(statement)
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER "orders_status_webhooks" ON "orders"`)
    await queryRunner.query(`DROP TRIGGER "orders_created_webhooks" ON "orders"`)
    await queryRunner.query(`DROP TRIGGER "alerts_webhooks" ON "alerts"`)
    await queryRunner.query(`DROP TRIGGER "stock_movements_webhooks" ON "stock_movements"`)
    await queryRunner.query(`DROP FUNCTION webhook_order_status_changed(), webhook_order_created(), webhook_stock_low(), webhook_stock_changed(), webhook_enqueue(text, json[]), webhook_product(integer, text, text), iso_utc(timestamptz)`)
    await queryRunner.query(`DROP TABLE "webhook_deliveries"`)
    await queryRunner.query(`DROP TABLE "webhook_endpoints"`)
  }
}
