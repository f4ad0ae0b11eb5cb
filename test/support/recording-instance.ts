/**
 * An instance that records every request exactly as it arrived (the raw
 * request target and raw headers) and answers 200 with its own id, or, on
 * `/big-header/<bytes>`, a response header of that many bytes. The security
 * probes assert on what it received: the gateway's answer alone cannot tell
 * whether a path or a header was rewritten on the way.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import { once } from "node:events";
import type { AddressInfo } from "node:net";

export interface ReceivedRequest {
  method: string;
  /** The request target as the instance read it from its request line. */
  url: string;
  /** Lowercase name → values, in arrival order. */
  headers: Map<string, string[]>;
}

export interface RecordingInstance {
  id: string;
  port: number;
  server: Server;
  received: ReceivedRequest[];
  /** The values of `name` (lowercase) on the last request received. */
  lastHeader(name: string): string[];
  close(): Promise<void>;
}

function record(req: IncomingMessage): ReceivedRequest {
  const headers = new Map<string, string[]>();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!.toLowerCase();
    headers.set(name, [...(headers.get(name) ?? []), req.rawHeaders[i + 1]!]);
  }
  return { method: req.method ?? "", url: req.url ?? "", headers };
}

export async function startRecordingInstance(id: string): Promise<RecordingInstance> {
  const received: ReceivedRequest[] = [];
  // Large enough for the oversized-header probes, which are about the gateway's limit, not this one's.
  const server = createServer({ maxHeaderSize: 256 * 1024 }, (req, res) => {
    received.push(record(req));
    req.resume();
    const big = /^\/big-header\/(\d+)$/.exec(req.url ?? "");
    if (big) res.setHeader("x-big", "b".repeat(Number(big[1])));
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ id, url: req.url }));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    id,
    port: (server.address() as AddressInfo).port,
    server,
    received,
    lastHeader: (name) => received.at(-1)?.headers.get(name) ?? [],
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
