/**
 * Upgraded connections outlive the request that opened them, so a route
 * change does not end them by itself. When an instance leaves its service's
 * route table (deregistered, failing its checks), its connections get a grace
 * period (GATEWAY_WEBSOCKET_DEREGISTERED_GRACE_MS) to finish, then are cut,
 * unless the instance is back in the table by then: a bounded end, like a
 * drain, so that a deploy is not held open by one long-lived client.
 */
import createDebug from "debug";
import type { Tunnel, UpgradeForwarder } from "../proxy/upgrade-forwarder.js";
import type { RouteTable } from "../routing/route-table.js";

const debug = createDebug("gateway:upgrade");

export class DepartedUpgrades {
  private readonly scheduled = new WeakSet<Tunnel>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly upgrader: UpgradeForwarder,
    private readonly current: () => RouteTable,
    private readonly graceMs: number,
  ) {}

  /** After each table swap: the connections to instances no longer in it get their grace. */
  tableSwapped(table: RouteTable): void {
    for (const tunnel of this.upgrader.open) {
      if (this.scheduled.has(tunnel) || inTable(table, tunnel)) continue;
      this.scheduled.add(tunnel);
      debug("instance %s left %s: its upgraded connection closes in %d ms", tunnel.instanceId, tunnel.service, this.graceMs);
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.scheduled.delete(tunnel);
        if (!inTable(this.current(), tunnel)) tunnel.destroy();
      }, this.graceMs);
      timer.unref();
      this.timers.add(timer);
    }
  }

  stop(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}

function inTable(table: RouteTable, tunnel: Tunnel): boolean {
  return table.get(tunnel.service)?.instances.some((i) => i.id === tunnel.instanceId) ?? false;
}
