import type { CheckEntry } from "./consul-adapter.js";

/**
 * The state of every check, in a form that tells which services one answer
 * of /v1/health/state/any changed: a fingerprint per service (its own checks)
 * and per node (the node's checks, which count for every service on it).
 */
export interface CheckState {
  readonly services: ReadonlyMap<string, string>;
  readonly nodes: ReadonlyMap<string, string>;
}

export const NO_CHECKS: CheckState = { services: new Map(), nodes: new Map() };

export function checkState(checks: readonly CheckEntry[]): CheckState {
  const services = new Map<string, string[]>();
  const nodes = new Map<string, string[]>();
  for (const c of checks) {
    const key = c.ServiceName === "" ? c.Node : c.ServiceName;
    const into = c.ServiceName === "" ? nodes : services;
    let list = into.get(key);
    if (list === undefined) into.set(key, (list = []));
    list.push(`${c.Node}\u0000${c.ServiceID}\u0000${c.CheckID}\u0000${c.Status}`);
  }
  const fingerprint = (m: Map<string, string[]>): Map<string, string> => new Map([...m].map(([k, v]) => [k, v.sort().join("\u0001")]));
  return { services: fingerprint(services), nodes: fingerprint(nodes) };
}

/** Keys whose fingerprint differs between two maps, counting keys present in only one of them. */
function changedKeys(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): Set<string> {
  const changed = new Set<string>();
  for (const [key, print] of after) if (before.get(key) !== print) changed.add(key);
  for (const key of before.keys()) if (!after.has(key)) changed.add(key);
  return changed;
}

/**
 * The services whose passing instances may differ after a check change: those
 * whose own checks changed (appeared, went, or changed status), and those with
 * an instance on a node whose node checks changed (`nodesOf`: each service's
 * nodes as last fetched).
 */
export function servicesTouched(before: CheckState, after: CheckState, nodesOf: ReadonlyMap<string, ReadonlySet<string>>): Set<string> {
  const touched = changedKeys(before.services, after.services);
  const nodes = changedKeys(before.nodes, after.nodes);
  if (nodes.size > 0) {
    for (const [service, serviceNodes] of nodesOf) {
      for (const node of serviceNodes) {
        if (nodes.has(node)) {
          touched.add(service);
          break;
        }
      }
    }
  }
  return touched;
}
