/**
 * Keeps Consul's agent in step with the running containers.
 *
 * Every change goes through one queue, so a start and a die of the same
 * container never race. What is wanted comes from the registration rules;
 * what is there comes from the agent's own list of services, so that a
 * restart of the registrar, of Consul or of the engine ends in the same state:
 * - a start event registers that one container;
 * - a container on its way out is deregistered at once, outside the queue, and
 *   not registered again until it starts anew: Docker's "kill" with a stop
 *   signal comes before the process exits, "die" (podman's first sign of a
 *   stop: it emits no kill event for `podman stop`) right after. The gateway
 *   must drop the instance before the engine removes the container's address:
 *   from then on a connection to it is not refused but left unanswered, and a
 *   request routed there waits for the gateway's connect timeout;
 * - a full resync runs at start, after the event stream reconnects, and every
 *   `resyncMs`: it registers what is wanted and missing or different, and
 *   deregisters what this process registered for containers that are no longer
 *   running; with `cleanup` (Registrator's -cleanup) also what an earlier run
 *   on this host registered (Meta registrar-host) for containers that are gone.
 * A registration the agent already holds unchanged is never sent again: a
 * re-registration would reset its check to critical and drop the instance
 * from the gateway's routes until the next check.
 */
import createDebug from "debug";
import type { AgentService, ConsulAgent } from "./consul-agent.js";
import type { ContainerEvent, DockerSource, EventSubscription } from "./docker-source.js";
import {
  META_CONTAINER,
  META_HOST,
  META_REGISTRAR,
  META_REGISTRAR_VALUE,
  registrationsFor,
  type Registration,
  type RuleOptions,
} from "./registration-rules.js";

const debug = createDebug("gateway:registrar");

export interface RegistrarOptions extends RuleOptions {
  cleanup: boolean;
  /** Full resync period (ms). */
  resyncMs: number;
  /** First delay before reconnecting to the engine's event stream (ms); doubles up to 30 s. */
  retryMs: number;
}

/** Container actions after which the container runs (again). */
const STARTS = new Set(["start", "restart", "unpause"]);
/** Container actions after which it is stopped or gone. */
const ENDS = new Set(["die", "died", "stop", "destroy", "remove", "cleanup"]);
/** Signals of `docker stop` and `docker kill` (by number or name): a kill with one of them ends the container. */
const STOP_SIGNALS = new Set(["15", "9", "2", "3", "SIGTERM", "SIGKILL", "SIGINT", "SIGQUIT", "TERM", "KILL", "INT", "QUIT"]);
const MAX_RETRY_MS = 30_000;

function sameRegistration(wanted: Registration, existing: AgentService): boolean {
  const meta = existing.Meta ?? {};
  return (
    existing.Service === wanted.Name &&
    existing.Address === wanted.Address &&
    existing.Port === wanted.Port &&
    JSON.stringify(existing.Tags ?? []) === JSON.stringify(wanted.Tags) &&
    Object.keys(wanted.Meta).length === Object.keys(meta).length &&
    Object.entries(wanted.Meta).every(([k, v]) => meta[k] === v)
  );
}

export class Registrar {
  /** Service ID → the registration this process sent (JSON) and its container. */
  private readonly sent = new Map<string, { body: string; container: string }>();
  private readonly reported = new Set<string>();
  private readonly deregistering = new Set<string>();
  /** Containers on their way out (a stop signal or their end was seen): never registered until they start again. */
  private readonly leaving = new Set<string>();
  private queue: Promise<void> = Promise.resolve();
  private subscription: EventSubscription | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private lastSyncError: string | undefined;

  constructor(
    private readonly docker: DockerSource,
    private readonly consul: ConsulAgent,
    private readonly options: RegistrarOptions,
    private readonly log: (line: string) => void = (line) => console.log(line),
  ) {}

  /** Subscribes to events and runs the first full sync; failures are retried in the background. */
  async start(): Promise<void> {
    await this.subscribe(this.options.retryMs);
    this.resyncTimer = setInterval(() => void this.resync(), this.options.resyncMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.resyncTimer);
    clearTimeout(this.reconnectTimer);
    this.subscription?.close();
    await this.queue;
  }

  /** Queues a full resync; resolves when it has run (a failure is logged, not thrown). */
  resync(): Promise<void> {
    return this.enqueue("resync", () => this.syncAll());
  }

  private enqueue(what: string, job: () => Promise<void>): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.stopped) return;
      try {
        await job();
        if (what === "resync" && this.lastSyncError !== undefined) {
          this.log(`registrar: in sync again (${this.consul.url})`);
          this.lastSyncError = undefined;
        }
      } catch (err) {
        const message = (err as Error).message;
        // One line per new failure, not one per resync while Consul or the engine is away.
        if (message !== this.lastSyncError) this.log(`registrar: ${what} failed: ${message}; retrying`);
        this.lastSyncError = message;
      }
    };
    this.queue = this.queue.then(run);
    return this.queue;
  }

  private async subscribe(delayMs: number): Promise<void> {
    if (this.stopped) return;
    try {
      this.subscription = await this.docker.events(
        (event) => this.onEvent(event),
        (err) => {
          if (this.stopped) return;
          this.log(`registrar: the engine's event stream ended${err ? ` (${err.message})` : ""}; reconnecting`);
          this.reconnectTimer = setTimeout(() => void this.subscribe(this.options.retryMs), this.options.retryMs);
        },
      );
      debug("subscribed to container events");
      // Whatever happened while no events were seen is found by a full resync.
      await this.resync();
    } catch (err) {
      if (this.stopped) return;
      const next = Math.min(delayMs * 2, MAX_RETRY_MS);
      this.log(`registrar: cannot read the engine's events (${(err as Error).message}); retrying in ${delayMs} ms`);
      this.reconnectTimer = setTimeout(() => void this.subscribe(next), delayMs);
    }
  }

  private onEvent(event: ContainerEvent): void {
    const ending = ENDS.has(event.action) || (event.action === "kill" && STOP_SIGNALS.has(event.signal ?? ""));
    if (!ending && !STARTS.has(event.action)) return;
    debug("container %s: %s%s", event.id.slice(0, 12), event.action, event.signal ? ` (signal ${event.signal})` : "");
    if (ending) {
      this.leaving.add(event.id);
      void this.deregisterLeaving(event.id);
    } else {
      this.leaving.delete(event.id);
    }
    void this.enqueue(`${event.action} of ${event.id.slice(0, 12)}`, () => this.syncContainer(event.id));
  }

  /** The fast path of a stop: what this process registered for the container, deregistered without waiting for the queue. */
  private async deregisterLeaving(container: string): Promise<void> {
    const ids = [...this.sent].filter(([, s]) => s.container === container).map(([id]) => id);
    await Promise.all(
      ids.map((id) =>
        this.deregister(id).catch((err: unknown) => {
          // The queued sync of the same event, or the next resync, retries.
          this.log(`registrar: deregistering ${id} failed: ${(err as Error).message}; retrying`);
        }),
      ),
    );
  }

  private wanted(view: Parameters<typeof registrationsFor>[0]): Registration[] {
    const { registrations, problems } = registrationsFor(view, this.options);
    for (const problem of problems) {
      if (this.reported.has(problem)) continue;
      if (this.reported.size > 10_000) this.reported.clear();
      this.reported.add(problem);
      this.log(`registrar: ${problem}`);
    }
    return registrations;
  }

  private isOurs(service: AgentService): boolean {
    const meta = service.Meta ?? {};
    return meta[META_REGISTRAR] === META_REGISTRAR_VALUE && meta[META_HOST] === this.options.hostname;
  }

  private async register(registration: Registration, existing: AgentService | undefined): Promise<void> {
    const body = JSON.stringify(registration);
    const container = registration.Meta[META_CONTAINER] ?? "";
    if (this.leaving.has(container)) return;
    const previous = this.sent.get(registration.ID);
    if (existing && sameRegistration(registration, existing) && (previous === undefined || previous.body === body)) {
      this.sent.set(registration.ID, { body, container });
      return;
    }
    await this.consul.register(registration);
    this.sent.set(registration.ID, { body, container });
    this.log(`registrar: registered ${registration.ID} as ${registration.Name} at ${registration.Address}:${registration.Port}`);
  }

  private async deregister(id: string): Promise<void> {
    if (this.deregistering.has(id)) return; // the fast path of a stop and the queued sync may meet here
    this.deregistering.add(id);
    try {
      await this.consul.deregister(id);
    } finally {
      this.deregistering.delete(id);
    }
    this.sent.delete(id);
    this.log(`registrar: deregistered ${id}`);
  }

  private async syncContainer(id: string): Promise<void> {
    const view = await this.docker.view(id);
    const existing = await this.consul.services();
    if (view && !this.leaving.has(id)) {
      for (const registration of this.wanted(view)) await this.register(registration, existing[registration.ID]);
      return;
    }
    const ids = new Set<string>();
    for (const [serviceId, s] of this.sent) if (s.container === id) ids.add(serviceId);
    for (const s of Object.values(existing)) if (this.isOurs(s) && s.Meta?.[META_CONTAINER] === id) ids.add(s.ID);
    for (const serviceId of ids) if (existing[serviceId]) await this.deregister(serviceId);
    for (const serviceId of ids) this.sent.delete(serviceId);
  }

  private async syncAll(): Promise<void> {
    // Both reads first: a failed read must never be taken for "no containers" or "nothing registered".
    const running = await this.docker.runningIds();
    const views = [];
    for (const id of running) {
      const view = await this.docker.view(id);
      if (view) views.push(view);
    }
    const existing = await this.consul.services();
    const wanted = new Map<string, Registration>();
    for (const view of views) for (const r of this.wanted(view)) wanted.set(r.ID, r);
    for (const registration of wanted.values()) await this.register(registration, existing[registration.ID]);

    const runningIds = new Set(running);
    for (const id of this.leaving) if (!runningIds.has(id)) this.leaving.delete(id);
    for (const s of Object.values(existing)) {
      if (wanted.has(s.ID)) continue;
      const sentByUs = this.sent.has(s.ID);
      const leftByEarlierRun = this.options.cleanup && this.isOurs(s) && !runningIds.has(s.Meta?.[META_CONTAINER] ?? "");
      if (sentByUs || leftByEarlierRun) await this.deregister(s.ID);
    }
    // Registrations the agent lost (a Consul restart without its data) were re-sent above; forget the rest.
    for (const id of [...this.sent.keys()]) if (!wanted.has(id)) this.sent.delete(id);
  }
}
