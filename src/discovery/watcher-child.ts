/**
 * The watcher child's entry point, forked by the gateway (supervisor.ts).
 * It owns every Consul connection: a watch on the catalog's service list and
 * one blocking-query watch per subscribed service. It sends a service's whole
 * instance list (passing, or passing and warning when configured) each time
 * that list changes, never twice the same.
 */
import createDebug from "debug";
import { ConsulWatcher, type WatchHandle } from "./consul-adapter.js";
import { toInstances } from "./health-entries.js";
import { parseWatcherCommand, type WatcherMessage } from "./messages.js";
import { instancesFingerprint, describeInstances } from "../routing/instance.js";
import { readWatcherChildConfig } from "./watcher-child-config.js";

const debug = createDebug("gateway:watch");

const send = (message: WatcherMessage): void => {
  if (process.connected) process.send!(message);
};

const config = readWatcherChildConfig(process.env);
const consul = new ConsulWatcher(config);
const watches = new Map<string, WatchHandle>();
const lastSent = new Map<string, string>();

function subscribe(service: string): void {
  if (watches.has(service)) return;
  debug("subscribe %s", service);
  watches.set(
    service,
    consul.watchHealth(
      service,
      (entries, index) => {
        const instances = toInstances(entries, { includeWarning: config.includeWarning });
        const fingerprint = instancesFingerprint(instances);
        if (lastSent.get(service) === fingerprint) {
          debug("%s index=%s unchanged (%d instances), not sent", service, index, instances.length);
          return;
        }
        lastSent.set(service, fingerprint);
        debug("change %s index=%s instances=[%s]", service, index, describeInstances(instances));
        send({ type: "service", service, index, instances });
      },
      (err) => send({ type: "watch-error", service, message: err.message }),
    ),
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
    const names = Object.keys(services).sort();
    // Tags are part of the change: a new urlprefix- tag is a new route.
    const tags = Object.fromEntries(names.map((name) => [name, [...(services[name] ?? [])].sort()]));
    const fingerprint = JSON.stringify(tags);
    if (fingerprint === lastCatalog) return;
    lastCatalog = fingerprint;
    debug("catalog index=%s services=[%s]", index, names.join(","));
    send({ type: "catalog", index, services: names, tags });
  },
  (err) => send({ type: "watch-error", service: null, message: err.message }),
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
  for (const watch of watches.values()) watch.end();
  consul.close();
  process.exit(0);
}
process.on("disconnect", shutdown);
process.on("SIGTERM", shutdown);
process.on("SIGINT", () => {
  // Ctrl-C reaches the whole process group; the parent decides when we stop.
});
