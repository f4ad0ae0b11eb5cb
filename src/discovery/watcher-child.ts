/**
 * The watcher child's entry point, forked by the gateway (supervisor.ts).
 * It owns every registry connection (Consul or ZooKeeper, behind the registry
 * interface): a watch on the catalog's service names and one watch per
 * subscribed service. It sends a service's whole instance list each time that
 * list changes (passing, or also warning when configured), never twice the same, whatever the registry.
 */
import createDebug from "debug";
import { parseWatcherCommand, type WatcherMessage } from "./messages.js";
import { createRegistry } from "./registries/create-registry.js";
import { instancesFingerprint, describeInstances } from "./instance.js";
import { readWatcherChildConfig } from "./watcher-child-config.js";

const debug = createDebug("gateway:watch");

const send = (message: WatcherMessage): void => {
  if (process.connected) process.send!(message);
};

const registry = createRegistry(readWatcherChildConfig(process.env));
const lastSent = new Map<string, string>();

function subscribe(service: string): void {
  if (lastSent.has(service)) return;
  debug("subscribe %s", service);
  // "" matches no fingerprint: the first list is always sent, an empty one included.
  lastSent.set(service, "");
  registry.subscribe(service, {
    change: (instances, index) => {
      const fingerprint = instancesFingerprint(instances);
      if (lastSent.get(service) === fingerprint) {
        debug("%s index=%s unchanged (%d instances), not sent", service, index, instances.length);
        return;
      }
      lastSent.set(service, fingerprint);
      debug("change %s index=%s instances=[%s]", service, index, describeInstances(instances));
      send({ type: "service", service, index, instances });
    },
    error: (err) => send({ type: "watch-error", service, message: err.message }),
  });
}

function unsubscribe(service: string): void {
  registry.unsubscribe(service);
  lastSent.delete(service);
  debug("unsubscribe %s", service);
}

let lastCatalog: string | undefined;
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
  },
  error: (err) => send({ type: "watch-error", service: null, message: err.message }),
});

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
let stopping = false;
function shutdown(): void {
  if (stopping) return;
  stopping = true;
  registry.close().finally(() => process.exit(0));
}
process.on("disconnect", shutdown);
process.on("SIGTERM", shutdown);
process.on("SIGINT", () => {
  // Ctrl-C reaches the whole process group; the parent decides when we stop.
});
