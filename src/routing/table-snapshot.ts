/**
 * The last known route table on disk, so that a gateway restarted while
 * Consul is unreachable still routes. Written after changes (debounced),
 * atomically: a temporary file renamed over the old one, so a crash mid-write
 * never leaves half a file. Read once at start; a missing file is normal, a
 * corrupt or unreadable one is reported and ignored, never fatal. Its entries
 * pass the same validation as messages from the watcher child.
 */
import { readFile, rename, writeFile, unlink } from "node:fs/promises";
import createDebug from "debug";
import { parseWatcherMessage, type WatcherMessage } from "../discovery/messages.js";
import type { RouteTable } from "./route-table.js";

const debug = createDebug("gateway:snapshot");
const FORMAT_VERSION = 1;

interface SnapshotFile {
  version: number;
  savedAt: string;
  catalog: { index: string; services: string[]; tags: Record<string, readonly string[]> } | null;
  services: Record<string, { index: string; instances: unknown[] }>;
}

export function serializeTable(table: RouteTable): string {
  const snapshot: SnapshotFile = {
    version: FORMAT_VERSION,
    savedAt: new Date().toISOString(),
    catalog:
      table.catalog === undefined
        ? null
        : { index: table.catalog.index, services: [...table.catalog.services].sort(), tags: Object.fromEntries(table.catalog.tags) },
    services: {},
  };
  for (const name of table.serviceNames()) {
    const entry = table.get(name)!;
    snapshot.services[name] = { index: entry.index, instances: [...entry.instances] };
  }
  return JSON.stringify(snapshot);
}

/** The snapshot's content as watcher messages, ready for the table updater; [] when there is none or it is unusable. */
export async function loadSnapshot(file: string, warn: (message: string) => void): Promise<WatcherMessage[]> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") warn(`route snapshot ${file} could not be read (${(err as Error).message}); starting without it`);
    return [];
  }
  try {
    const snapshot = JSON.parse(text) as SnapshotFile;
    if (snapshot?.version !== FORMAT_VERSION) throw new Error(`unknown format version ${JSON.stringify(snapshot?.version)}`);
    const messages: WatcherMessage[] = [];
    if (snapshot.catalog !== null) messages.push(parseWatcherMessage({ type: "catalog", ...snapshot.catalog }));
    for (const [service, entry] of Object.entries(snapshot.services ?? {})) {
      messages.push(parseWatcherMessage({ type: "service", service, index: entry.index, instances: entry.instances }));
    }
    debug("loaded %d services from %s (saved %s)", Object.keys(snapshot.services).length, file, snapshot.savedAt);
    return messages;
  } catch (err) {
    warn(`route snapshot ${file} is corrupt (${(err as Error).message}); starting without it`);
    return [];
  }
}

export class SnapshotWriter {
  private timer: NodeJS.Timeout | undefined;
  private latest: RouteTable | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly file: string,
    private readonly debounceMs = 200,
  ) {}

  schedule(table: RouteTable): void {
    this.latest = table;
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.writing = this.writing.then(() => this.write());
    }, this.debounceMs);
  }

  /** Writes what is pending now; resolves when it is on disk. */
  async flush(): Promise<void> {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.writing = this.writing.then(() => this.write());
    }
    await this.writing;
  }

  private async write(): Promise<void> {
    const table = this.latest;
    if (table === undefined) return;
    const temporary = `${this.file}.${process.pid}.tmp`;
    try {
      await writeFile(temporary, serializeTable(table));
      await rename(temporary, this.file);
      debug("saved %d services to %s", table.serviceNames().length, this.file);
    } catch (err) {
      debug("could not save the route snapshot to %s: %s", this.file, (err as Error).message);
      await unlink(temporary).catch(() => {});
    }
  }
}
