/**
 * The watcher child's entry point, forked by the gateway (supervisor.ts).
 * It owns every registry connection (Consul or ZooKeeper, behind the registry
 * interface): a watch on the catalog's service names and one watch per
 * subscribed service (service-watches.ts). It sends the catalog and a
 * service's whole instance list each time they change (passing instances, or
 * also warning ones when configured), never twice the same, whatever the registry.
 */
import createDebug from "debug";
import { parseWatcherCommand, type WatcherMessage } from "./messages.js";
import { createRegistry } from "./registries/create-registry.js";
import { ServiceWatches } from "./service-watches.js";
import { readWatcherChildConfig } from "./watcher-child-config.js";

const debug = createDebug("gateway:watch");

const send = (message: WatcherMessage): void => {
  if (process.connected) process.send!(message);
};

const registry = createRegistry(readWatcherChildConfig(process.env));
const watches = new ServiceWatches(registry, send);
registry.onWatchModeChange?.((message) => {
  debug("%s", message);
  send({ type: "watch-mode", mode: "shared", message });
});

let lastCatalog: string | undefined;
let lastNames: ReadonlySet<string> = new Set();
registry.subscribeCatalog({
  change: (services, index) => {
    const names = Object.keys(services).sort();
    // Tags are part of the change: a new urlprefix- tag is a new route.
    const tags = Object.fromEntries(names.map((name) => [name, [...(services[name] ?? [])].sort()]));
    const fingerprint = JSON.stringify(tags);
    if (fingerprint === lastCatalog) return;
    lastCatalog = fingerprint;
    debug("catalog index=%s services=[%s]", index, names.join(","));
    send({ type: "catalog", index, services: names, tags });
    // A service back in the catalog is re-subscribed by the gateway in the same swap: its kept list follows now.
    watches.catalogSent(names, index, lastNames);
    lastNames = new Set(names);
  },
  error: (err) => send({ type: "watch-error", service: null, message: err.message }),
});

process.on("message", (raw) => {
  try {
    const command = parseWatcherCommand(raw);
    if (command.type === "subscribe") watches.subscribe(command.service);
    else watches.unsubscribe(command.service);
  } catch (err) {
    debug("dropped a malformed command: %s", (err as Error).message);
  }
});

// The gateway is gone (or stopped us): end the watches and leave, never orphaned.
let stopping = false;
function shutdown(): void {
  if (stopping) return;
  stopping = true;
  watches.close();
  registry.close().finally(() => process.exit(0));
}
process.on("disconnect", shutdown);
process.on("SIGTERM", shutdown);
process.on("SIGINT", () => {
  // Ctrl-C reaches the whole process group; the parent decides when we stop.
});
