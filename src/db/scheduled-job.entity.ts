import { Column, Entity, PrimaryColumn } from 'typeorm'

/**
 * One row per periodic job (the idempotency-key purge...): the process that moves `last_run_at`
 * runs the job, so it runs once per interval however many processes and replicas share the database.
 */
@Entity({ name: 'scheduled_jobs' })
export class ScheduledJob {
  @PrimaryColumn({ type: 'varchar', length: 100 })
  name: string

  @Column({ name: 'last_run_at', type: 'timestamptz' })
  lastRunAt: Date

  /** How many times it ran, every process counted: what an operator (and the fault test) can check. */
  @Column({ type: 'bigint', default: 0 })
  runs: string
}
