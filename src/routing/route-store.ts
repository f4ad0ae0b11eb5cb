import { RouteTable } from "./route-table.js";

type Waiter = { until: (table: RouteTable) => boolean; resolve: (table: RouteTable | undefined) => void };

/**
 * Holds the current route table. `swap` replaces it in one assignment and
 * wakes the requests that wait for a service's first answer.
 */
export class RouteStore {
  private table: RouteTable = RouteTable.EMPTY;
  private readonly waiters = new Set<Waiter>();

  get current(): RouteTable {
    return this.table;
  }

  swap(next: RouteTable): void {
    this.table = next;
    for (const waiter of this.waiters) {
      if (waiter.until(next)) {
        this.waiters.delete(waiter);
        waiter.resolve(next);
      }
    }
  }

  /** Resolves with the first table that satisfies `until`, or undefined after `timeoutMs`. */
  waitFor(until: (table: RouteTable) => boolean, timeoutMs: number): Promise<RouteTable | undefined> {
    if (until(this.table)) return Promise.resolve(this.table);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        until,
        resolve: (table) => {
          clearTimeout(timer);
          resolve(table);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        resolve(undefined);
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }
}
