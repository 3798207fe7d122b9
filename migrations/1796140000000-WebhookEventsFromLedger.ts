import type { MigrationInterface, QueryRunner } from 'typeorm'
import { EMITTER_FUNCTIONS, TRIGGERS } from './1796122492899-Webhooks'

/**
 * The stock ledger is the outbox of its own events. `stock.changed`, `order.created` (every order
 * writes exactly one `order` movement) and `stock.low` were delivery rows written by triggers inside
 * the change's transaction, and that second write cost the one-statement order about 40 % of its
 * throughput. Now each movement and alert row records the transaction that wrote it (`event_xid`),
 * and the relay (src/modules/webhooks/sql.ts, ledgerRelay) turns rows into deliveries once that
 * transaction has ended: a change that rolls back leaves no row, so no event; a committed one left
 * its rows, so always its events. `order.status_changed` keeps its trigger (an UPDATE leaves no row
 * of its own).
 *
 * Existing rows keep a NULL `event_xid` (the column is added without rewriting the table) and are
 * never relayed: they were emitted by the triggers already.
 */
const LEDGER = ['stock_movements', 'alerts'] as const
const RETIRED = [
  ['stock_movements_webhooks', 'stock_movements', 'webhook_stock_changed'],
  ['alerts_webhooks', 'alerts', 'webhook_stock_low'],
  ['orders_created_webhooks', 'orders', 'webhook_order_created'],
] as const

export class WebhookEventsFromLedger1796140000000 implements MigrationInterface {
  name = 'WebhookEventsFromLedger1796140000000'

  public async up(queryRunner: QueryRunner): Promise<void> {
    for (const table of LEDGER) {
      await queryRunner.query(`ALTER TABLE "${table}" ADD COLUMN "event_xid" bigint`)
      // The top-level transaction's id (64 bits, never wraps): rows of transactions below the oldest running one are final.
      await queryRunner.query(`ALTER TABLE "${table}" ALTER COLUMN "event_xid" SET DEFAULT (pg_current_xact_id()::text::bigint)`)
      // The relay's cursor: the rows after (xid, id), in that order, LIMIT the batch.
      await queryRunner.query(`CREATE INDEX "${table}_event_xid_idx" ON "${table}" ("event_xid", "id")`)
    }
    // Where the relay has got to in each table: every row up to (xid, id) has been turned into deliveries.
    await queryRunner.query(`CREATE TABLE "webhook_relay_cursors" ("source" character varying(32) NOT NULL, "xid" bigint NOT NULL, "id" bigint NOT NULL, CONSTRAINT "webhook_relay_cursors_pkey" PRIMARY KEY ("source"))`)
    await queryRunner.query(`INSERT INTO "webhook_relay_cursors" ("source", "xid", "id") VALUES ${LEDGER.map((table) => `('${table}', 0, 0)`).join(', ')}`)
    for (const [trigger, table, emitter] of RETIRED) {
      await queryRunner.query(`DROP TRIGGER "${trigger}" ON "${table}"`)
      await queryRunner.query(`DROP FUNCTION ${emitter}()`)
    }
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    for (const [trigger, , emitter] of RETIRED) {
      await queryRunner.query(EMITTER_FUNCTIONS[emitter]!)
      await queryRunner.query(TRIGGERS[trigger]!)
    }
    await queryRunner.query(`DROP TABLE "webhook_relay_cursors"`)
    for (const table of LEDGER) {
      await queryRunner.query(`DROP INDEX "${table}_event_xid_idx"`)
      await queryRunner.query(`ALTER TABLE "${table}" DROP COLUMN "event_xid"`)
    }
  }
}
