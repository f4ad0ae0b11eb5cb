/** The state of an instance's health checks that can reach the table: critical ones never do. */
export type HealthState = "passing" | "warning";
