import type { MigrationInterface, QueryRunner } from 'typeorm'

/**
 * Deleting an endpoint no longer deletes its deliveries in the same statement. The foreign key's
 * ON DELETE CASCADE made `DELETE /webhooks/{id}` cost its whole delivery history: 6.2 s for an
 * endpoint with a million deliveries (so, by extrapolation, past the 15 s statement timeout at
 * about 2.5 million, when it could no longer be deleted at all), while the relay, whose key check
 * on each new delivery locks the endpoint row, waited for it. Without the key, the endpoint row goes at once; its deliveries, which
 * nothing reads any more (every read and every send joins webhook_endpoints), are deleted in
 * batches by the `webhook_purge` job (src/modules/webhooks/purge.ts). Endpoint ids are never
 * reused, so they cannot be taken by a new endpoint meanwhile. The relay's inserts no longer pay
 * the key check (a trigger per row). The deliveries table has no other foreign key.
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
