/**
 * GET /events: the dashboard's live feed, as Server-Sent Events.
 *
 *   event: snapshot  the whole DashboardSnapshot: on connect, at once after a
 *                    route change, and each second while the counters move
 *   event: history   the recent change notifications, once on connect
 *   event: change    one change notification, as the watcher's message is applied
 *
 * One timer serves all clients and runs only while one is connected. A client
 * that stops reading is dropped once a bounded amount is queued for it, and
 * the number of clients is capped, so a dashboard cannot grow the gateway's memory.
 */
import type { ServerResponse } from "node:http";
import type { Context } from "koa";
import type { TableChangeLog } from "../observability/table-change-log.js";
import { GatewayError } from "../errors.js";
import type { DashboardSnapshot, TableChange } from "./view-types.js";

export interface DashboardEventsOptions {
  snapshot: () => DashboardSnapshot;
  events: TableChangeLog;
  intervalMs?: number;
  maxClients?: number;
}

const HEARTBEAT_MS = 15_000;
/** More than this queued for one client means it is not reading: it is dropped. */
const MAX_QUEUED_BYTES = 1 << 20;

export class DashboardEvents {
  private readonly clients = new Set<ServerResponse>();
  private readonly intervalMs: number;
  private readonly maxClients: number;
  private timer: NodeJS.Timeout | undefined;
  private stopListening: (() => void) | undefined;
  private lastSnapshot = "";
  private lastWriteAt = 0;

  constructor(private readonly options: DashboardEventsOptions) {
    this.intervalMs = options.intervalMs ?? 1_000;
    this.maxClients = options.maxClients ?? 32;
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** Takes over the response of a GET /events request for as long as the client stays. */
  open(ctx: Context): void {
    if (this.clients.size >= this.maxClients) {
      throw new GatewayError("TOO_MANY_STREAMS", `at most ${this.maxClients} dashboards may be open at once`);
    }
    const res = ctx.res;
    ctx.respond = false;
    ctx.req.socket.setTimeout(0);
    ctx.req.socket.setNoDelay(true);
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      "x-accel-buffering": "no",
    });
    this.clients.add(res);
    res.on("close", () => this.drop(res));

    const snapshot = JSON.stringify(this.options.snapshot());
    this.send(res, `retry: 2000\n\nevent: snapshot\ndata: ${snapshot}\n\nevent: history\ndata: ${JSON.stringify(this.options.events.recent())}\n\n`);
    if (this.clients.size === 1) this.startFeeding(snapshot);
  }

  /** Ends every stream (the admin server is closing). */
  close(): void {
    for (const res of this.clients) res.end();
    this.clients.clear();
    this.stopFeeding();
  }

  private startFeeding(snapshot: string): void {
    this.lastSnapshot = snapshot;
    this.lastWriteAt = Date.now();
    this.stopListening = this.options.events.subscribe((change) => this.onChange(change));
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  private stopFeeding(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.stopListening?.();
    this.stopListening = undefined;
  }

  private onChange(change: TableChange): void {
    this.broadcast(`event: change\ndata: ${JSON.stringify(change)}\n\n`);
    this.broadcastSnapshotIfChanged();
  }

  private tick(): void {
    if (!this.broadcastSnapshotIfChanged() && Date.now() - this.lastWriteAt >= HEARTBEAT_MS) {
      // A comment line keeps idle connections from being cut by proxies on the way.
      this.broadcast(": ping\n\n");
    }
  }

  private broadcastSnapshotIfChanged(): boolean {
    const snapshot = JSON.stringify(this.options.snapshot());
    if (snapshot === this.lastSnapshot) return false;
    this.lastSnapshot = snapshot;
    this.broadcast(`event: snapshot\ndata: ${snapshot}\n\n`);
    return true;
  }

  private broadcast(text: string): void {
    this.lastWriteAt = Date.now();
    for (const res of this.clients) this.send(res, text);
  }

  private send(res: ServerResponse, text: string): void {
    if (res.writableLength > MAX_QUEUED_BYTES) {
      res.destroy();
      return;
    }
    res.write(text);
  }

  private drop(res: ServerResponse): void {
    if (this.clients.delete(res) && this.clients.size === 0) this.stopFeeding();
  }
}
