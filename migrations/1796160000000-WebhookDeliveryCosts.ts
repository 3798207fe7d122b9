import type { MigrationInterface, QueryRunner } from 'typeorm'

/**
 * Two costs paid per event by the delivery pipeline, measured on a backlog of 20,000 events.
 *
 * - A delivery row is written pending by the relay and updated once, delivered, a moment later;
 *   a job records its 25 attempts in one statement. On pages the inserts had filled, that update
 *   could not stay on its page: a new version elsewhere, a new entry in both indexes, the whole row
 *   in the WAL (14 of 100 stayed). Half of each page left free (fillfactor 50) gives every row of
 *   the page room for its next version, so the update is a HOT one, on its page, with no index
 *   entry (100 of 100; 56 at fillfactor 70): 1,580 → 945 bytes of WAL per event. The table holds
 *   two versions of a row until it is vacuumed either way. Applies to pages written from now on.
 * - `iso_utc` and `webhook_product` were declared IMMUTABLE around STABLE bodies (`to_char`,
 *   `json_build_object`), which keeps PostgreSQL from inlining them: a function call per field of
 *   every event body the relay builds. Declared as what they are, they are inlined.
 */
export class WebhookDeliveryCosts1796160000000 implements MigrationInterface {
  name = 'WebhookDeliveryCosts1796160000000'

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "webhook_deliveries" SET (fillfactor = 50)`)
    await queryRunner.query(`ALTER FUNCTION iso_utc(timestamptz) STABLE`)
    await queryRunner.query(`ALTER FUNCTION webhook_product(integer, text, text) STABLE`)
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER FUNCTION webhook_product(integer, text, text) IMMUTABLE`)
    await queryRunner.query(`ALTER FUNCTION iso_utc(timestamptz) IMMUTABLE`)
    await queryRunner.query(`ALTER TABLE "webhook_deliveries" RESET (fillfactor)`)
  }
}
