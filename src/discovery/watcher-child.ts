/**
 * The watcher child's entry point, forked by the gateway (supervisor.ts).
 * It owns every Consul connection: a watch on the catalog's service list and
 * one blocking-query watch per subscribed service, or with GATEWAY_WATCH=shared
 * one watch on every check for all of them (shared-watch.ts). It sends a
 * service's whole passing-instance list each time that list changes, never
 * twice the same.
 */
import createDebug from "debug";
import { ConsulWatcher, type HealthEntry, type WatchHandle } from "./consul-adapter.js";
import { toInstances } from "./health-entries.js";
import { parseWatcherCommand, type WatcherMessage } from "./messages.js";
import { instancesFingerprint, describeInstances } from "../routing/instance.js";
import { readWatcherChildConfig } from "./watcher-child-config.js";
import { SharedServiceWatch } from "./shared-watch.js";

const debug = createDebug("gateway:watch");

const send = (message: WatcherMessage): void => {
  if (process.connected) process.send!(message);
};

const config = readWatcherChildConfig(process.env);
const consul = new ConsulWatcher(config);
const watches = new Map<string, WatchHandle>();
const lastSent = new Map<string, string>();

/** Sends a service's instances when they differ from what was sent last. */
function deliver(service: string, entries: HealthEntry[], index: string): void {
  const instances = toInstances(entries);
  const fingerprint = instancesFingerprint(instances);
  if (lastSent.get(service) === fingerprint) {
    debug("%s index=%s unchanged (%d instances), not sent", service, index, instances.length);
    return;
  }
  lastSent.set(service, fingerprint);
  debug("change %s index=%s instances=[%s]", service, index, describeInstances(instances));
  send({ type: "service", service, index, instances });
}

function watchError(service: string | null, err: Error): void {
  // Consul answers 429 past its connections-per-client limit: say what to do about it.
  const hint = /too many requests/i.test(err.message) && config.watch === "per-service" ? " (Consul's http_max_conns_per_client: use GATEWAY_WATCH=shared for this many services)" : "";
  send({ type: "watch-error", service, message: err.message + hint });
}

const shared = config.watch === "shared" ? new SharedServiceWatch(consul, { onInstances: deliver, onError: watchError }, config.backoffMaxMs) : undefined;

function subscribe(service: string): void {
  if (watches.has(service)) return;
  debug("subscribe %s", service);
  if (shared !== undefined) {
    shared.subscribe(service);
    watches.set(service, { end: () => shared.unsubscribe(service) });
    return;
  }
  watches.set(
    service,
    consul.watchPassing(service, (entries, index) => deliver(service, entries, index), (err) => watchError(service, err)),
  );
}

function unsubscribe(service: string): void {
  watches.get(service)?.end();
  watches.delete(service);
  lastSent.delete(service);
  debug("unsubscribe %s", service);
}

let lastCatalog = "";
const catalogWatch = consul.watchCatalog(
  (services, index) => {
    shared?.catalogChanged(index);
    const names = Object.keys(services).sort();
    const fingerprint = names.join(",");
    if (fingerprint === lastCatalog) return;
    lastCatalog = fingerprint;
    debug("catalog index=%s services=[%s]", index, fingerprint);
    send({ type: "catalog", index, services: names });
  },
  (err) => watchError(null, err),
);

process.on("message", (raw) => {
  try {
    const command = parseWatcherCommand(raw);
    if (command.type === "subscribe") subscribe(command.service);
    else unsubscribe(command.service);
  } catch (err) {
    debug("dropped a malformed command: %s", (err as Error).message);
  }
});

// The gateway is gone (or stopped us): end the watches and leave, never orphaned.
function shutdown(): void {
  catalogWatch.end();
  shared?.end();
  for (const watch of watches.values()) watch.end();
  consul.close();
  process.exit(0);
}
process.on("disconnect", shutdown);
process.on("SIGTERM", shutdown);
process.on("SIGINT", () => {
  // Ctrl-C reaches the whole process group; the parent decides when we stop.
});
