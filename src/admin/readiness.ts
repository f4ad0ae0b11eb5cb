import type { RouteTable } from "../routing/route-table.js";
import type { ReadinessView } from "./view-types.js";

export interface ReadinessInputs {
  /** The watcher child runs and its IPC channel is open. */
  watcherRunning: boolean;
  table: RouteTable;
  /** GATEWAY_SERVICES: watched from the start, so their lists are part of a loaded table. */
  services: readonly string[];
  /** The gateway got SIGTERM and drains the requests in flight before it exits. */
  draining: boolean;
  /** What the watcher said about itself that operators should know (it moved to the shared watch). */
  watcherNotices?: readonly string[];
}

/**
 * Ready = the route table is loaded (the catalog and every configured service
 * answered once). Neither a registry outage later nor a watcher child being
 * re-forked makes the gateway unready: it serves the last known routes (fail
 * static), and taking it out of a load balancer then would turn a discovery
 * outage into a full one, on every replica at once. Such states are in
 * `details`, for people, without changing the answer.
 *
 * A draining gateway is unready: its proxy port refuses new connections from
 * the first moment of the drain, and /ready (still served until the end) must
 * not claim otherwise to whoever polls it.
 */
export function readiness({ watcherRunning, table, services, draining, watcherNotices = [] }: ReadinessInputs): ReadinessView {
  const reasons: string[] = [];
  const details: string[] = [...watcherNotices];
  if (draining) reasons.push("the gateway is shutting down and draining the requests in flight");
  if (!watcherRunning) details.push("the watcher child is not running (it is being restarted): routes are served from the last known table");
  if (table.catalog === undefined) reasons.push("no answer from the registry's catalog yet");
  for (const service of services) {
    // One the catalog does not list is skipped: a hidden one is never watched, an absent one has no instance to wait for.
    if (table.catalog !== undefined && !table.catalog.services.has(service)) continue;
    if (table.get(service) === undefined) reasons.push(`no instance list for ${service} from the registry yet`);
  }
  return { ready: reasons.length === 0, reasons, details };
}
