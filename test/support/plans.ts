/** A node of `EXPLAIN (FORMAT JSON)` output; the Actual fields are there with ANALYZE. */
export interface PlanNode {
  'Node Type': string
  'Relation Name'?: string
  'Index Name'?: string
  'Actual Rows': number
  'Actual Loops': number
  /** How the node feeds its parent: 'Outer'/'Inner' input, or an 'InitPlan'/'SubPlan' run beside it. */
  'Parent Relationship'?: string
  'Rows Removed by Filter'?: number
  /** The node's output expressions, with VERBOSE. */
  Output?: string[]
  Plans?: PlanNode[]
}

/** The node and every node under it, depth first. */
export const planNodes = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(planNodes)]
