import type { MigrationInterface, QueryRunner } from "typeorm";

/** The row of each periodic job, claimed by one process per interval (src/db/scheduled-jobs.ts). */
export class ScheduledJobs1796117704472 implements MigrationInterface {
    name = 'ScheduledJobs1796117704472'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "scheduled_jobs" ("name" character varying(100) NOT NULL, "last_run_at" TIMESTAMP WITH TIME ZONE NOT NULL, "runs" bigint NOT NULL DEFAULT '0', CONSTRAINT "PK_scheduled_jobs_name" PRIMARY KEY ("name"))`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP TABLE "scheduled_jobs"`);
    }

}
