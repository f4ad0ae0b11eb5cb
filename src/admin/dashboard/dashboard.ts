/**
 * The dashboard page's script (compiled for the browser by esbuild): follows
 * GET /events and draws the services, their instances with live counters, and
 * the change notifications as they arrive. Everything from the gateway is
 * written as text (textContent), never as HTML: tags and ids come from the registry.
 */
import type { DashboardSnapshot, InstanceView, TableChange, ServiceView } from "../view-types.js";

const MAX_CHANGES = 200;

const servicesEl = document.getElementById("services")!;
const changesEl = document.getElementById("changes")!;
const readinessEl = document.getElementById("readiness")!;
const connectionEl = document.getElementById("connection")!;
const watcherEl = document.getElementById("watcher")!;

/** Instance ids of the last snapshot: an id not among them is new and flashes once. */
let knownInstances: Set<string> | undefined;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, className?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className !== undefined) node.className = className;
  return node;
}

function clock(iso: string): string {
  return new Date(iso).toLocaleTimeString([], { hour12: false });
}

function percent(rate: number | null): string {
  return rate === null ? "–" : `${(rate * 100).toFixed(rate === 0 ? 0 : 1)}%`;
}

function instanceRow(instance: InstanceView, isNew: boolean): HTMLTableRowElement {
  const { ejected, ejectedUntil, ejections } = instance.outlier;
  const row = el("tr", undefined, [isNew ? "new" : "", ejected ? "ejected" : ""].join(" ").trim() || undefined);
  row.dataset.instance = instance.id;
  const id = el("td", instance.id);
  const badge = (text: string, className: string, title: string): void => {
    const node = el("span", text, `badge-small ${className}`);
    node.title = title;
    id.append(" ", node);
  };
  // Passive health took it out of rotation after failed connections.
  if (ejected) badge("ejected", "ejected-badge", `out of rotation until ${ejectedUntil === null ? "?" : clock(ejectedUntil)} (ejection ${ejections} in a row)`);
  if (instance.health === "warning") badge("warning", "warning-badge", `a check warns: weight ${instance.weight} of ${instance.registeredWeight}`);
  if (instance.warmUp < 1) badge(`warming up ${Math.round(instance.warmUp * 100)}%`, "warm-up-badge", "a new instance: its share of traffic grows over the warm-up window");
  row.append(id, el("td", `${instance.address}:${instance.port}`));
  const tags = el("td");
  for (const tag of instance.tags) tags.append(el("span", tag, "tag"));
  row.append(tags);
  const errors = instance.failures + instance.serverErrors;
  row.append(
    el("td", String(instance.inFlight), "num in-flight"),
    el("td", String(instance.requests), "num requests"),
    el("td", String(errors), `num errors${errors > 0 ? " some" : ""}`),
    el("td", percent(instance.errorRate), `num error-rate${errors > 0 ? " errors some" : ""}`),
  );
  return row;
}

function serviceCard(service: ServiceView, previous: Set<string> | undefined): HTMLElement {
  const card = el("article", undefined, "service");
  card.dataset.service = service.name;
  const title = el("h2", service.name);
  title.append(el("small", `${service.instances.length} healthy · index ${service.index} · changed ${clock(service.updatedAt)}`));
  card.append(title);
  if (service.instances.length === 0) {
    card.append(el("p", "No healthy instance in the registry: requests get 503 NO_HEALTHY_INSTANCE.", "empty"));
    return card;
  }
  const table = el("table");
  const head = el("tr");
  for (const [label, numeric] of [["Instance", false], ["Address", false], ["Tags", false], ["In flight", true], ["Requests", true], ["Errors", true], ["Error rate", true]] as const) {
    head.append(el("th", label, numeric ? "num" : undefined));
  }
  table.append(el("thead"), el("tbody"));
  table.tHead!.append(head);
  for (const instance of service.instances) table.tBodies[0]!.append(instanceRow(instance, previous !== undefined && !previous.has(instance.id)));
  card.append(table);
  return card;
}

function renderSnapshot(snapshot: DashboardSnapshot): void {
  const { readiness, watcher, routes } = snapshot;
  readinessEl.textContent = readiness.ready ? "ready" : "not ready";
  readinessEl.className = `badge ${readiness.ready ? "ready" : "not-ready"}`;
  readinessEl.title = readiness.ready ? "GET /ready: 200" : readiness.reasons.join("\n");

  const catalog = routes.catalog === null ? "catalog not loaded" : `catalog: ${routes.catalog.services} services (index ${routes.catalog.index})`;
  watcherEl.textContent = `watcher ${watcher.running ? `pid ${watcher.pid ?? "?"}` : "not running"} · restarts ${watcher.restarts} · ${watcher.registry} errors ${watcher.registryErrors} · ${catalog}`;

  const previous = knownInstances;
  knownInstances = new Set(routes.services.flatMap((s) => s.instances.map((i) => i.id)));
  if (routes.services.length === 0) {
    servicesEl.replaceChildren(el("p", "No service in the route table yet: services are added when GATEWAY_SERVICES lists them or on their first request.", "empty"));
    return;
  }
  servicesEl.replaceChildren(...routes.services.map((service) => serviceCard(service, previous)));
}

function addChange(change: TableChange, fresh: boolean): void {
  const item = el("li", undefined, `change-${change.type}${fresh ? " fresh" : ""}`);
  const time = el("time", clock(change.at));
  time.dateTime = change.at;
  item.append(time, document.createTextNode(change.summary));
  changesEl.prepend(item);
  while (changesEl.children.length > MAX_CHANGES) changesEl.lastElementChild!.remove();
}

function connect(): void {
  const source = new EventSource("/events");
  source.addEventListener("open", () => {
    connectionEl.textContent = "live";
    connectionEl.className = "connection live";
  });
  source.addEventListener("error", () => {
    // EventSource reconnects by itself (the server's `retry:`); the history comes again then.
    connectionEl.textContent = "reconnecting…";
    connectionEl.className = "connection lost";
  });
  source.addEventListener("snapshot", (event) => renderSnapshot(JSON.parse((event as MessageEvent<string>).data) as DashboardSnapshot));
  source.addEventListener("history", (event) => {
    changesEl.replaceChildren();
    for (const change of JSON.parse((event as MessageEvent<string>).data) as TableChange[]) addChange(change, false);
  });
  source.addEventListener("change", (event) => addChange(JSON.parse((event as MessageEvent<string>).data) as TableChange, true));
}

connect();
