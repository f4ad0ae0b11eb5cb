/**
 * A writable between undici's stream() and the client's response, for an
 * answer that declares trailers (a `Trailer` header). undici ends the
 * writable it writes into once the body is over and only then resolves with
 * the trailers; ending the client's response there would send the last chunk
 * without them. The relay passes the body through (with back-pressure) and
 * leaves the response open, so that finish() can add the trailers and end it.
 */
import type { ServerResponse } from "node:http";
import { Writable } from "node:stream";
import { trailerPairs } from "./trailers.js";

export class TrailerRelay extends Writable {
  constructor(private readonly res: ServerResponse) {
    super();
    // The client going away stops the relay, which tells undici to abort the upstream.
    res.once("close", () => {
      if (!res.writableFinished) this.destroy(new Error("the client closed the response"));
    });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.res.write(chunk)) callback();
    else this.res.once("drain", () => callback());
  }

  /** The body is over: the trailers (undici's parsed object) go out, then the response ends. */
  finish(trailers: Record<string, string | string[] | undefined> | null | undefined): void {
    if (this.res.destroyed) return;
    const raw: string[] = [];
    for (const [name, value] of Object.entries(trailers ?? {})) {
      if (value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) raw.push(name, v);
    }
    const pairs = trailerPairs(raw);
    if (pairs.length > 0) this.res.addTrailers(pairs);
    this.res.end();
  }
}
