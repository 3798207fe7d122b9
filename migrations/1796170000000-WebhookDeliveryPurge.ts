import type { MigrationInterface, QueryRunner } from 'typeorm'

/**
 * Deleting an endpoint no longer deletes its deliveries in the same statement. The foreign key's
 * ON DELETE CASCADE made `DELETE /webhooks/{id}` cost the endpoint's whole delivery history: 6.2 s
 * and 11.4 s in two runs for an endpoint with a million deliveries (so a few million would pass the
 * 15 s statement timeout, and the endpoint could no longer be deleted at all), while the relay,
 * whose key check on each new delivery locks the endpoint row, waited for it. Without the key the
 * endpoint row goes at once; its deliveries, which nothing reads any more (every read and every
 * send joins webhook_endpoints), are deleted in batches by the `webhook_purge` job
 * (src/modules/webhooks/purge.ts). Endpoint ids come from a sequence and are never reused, so no
 * new endpoint can inherit them meanwhile. The relay's inserts no longer pay the key check either.
 */
export class WebhookDeliveryPurge1796170000000 implements MigrationInterface {
  name = 'WebhookDeliveryPurge1796170000000'

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "webhook_deliveries" DROP CONSTRAINT "webhook_deliveries_endpoint_id_fkey"`)
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DELETE FROM "webhook_deliveries" d WHERE NOT EXISTS (SELECT FROM "webhook_endpoints" e WHERE e."id" = d."endpoint_id")`)
    await queryRunner.query(
      `ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_endpoint_id_fkey" FOREIGN KEY ("endpoint_id") REFERENCES "webhook_endpoints"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    )
  }
}
