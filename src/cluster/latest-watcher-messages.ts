import type { WatcherMessage } from "../discovery/messages.js";

/**
 * The newest catalog and per-service messages the primary relayed, so that a
 * worker forked later (a re-fork after a death) starts with every route the
 * others have, instead of waiting for the next change in Consul. Errors are
 * relayed but not kept: they change no route.
 */
export class LatestWatcherMessages {
  private catalog: WatcherMessage | undefined;
  private readonly services = new Map<string, WatcherMessage>();

  remember(message: WatcherMessage): void {
    if (message.type === "catalog") this.catalog = message;
    else if (message.type === "service") this.services.set(message.service, message);
  }

  /** The catalog first (the resolver reads it to tell unknown names), then every service. */
  replay(): WatcherMessage[] {
    return [...(this.catalog === undefined ? [] : [this.catalog]), ...this.services.values()];
  }
}
