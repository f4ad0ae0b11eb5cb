/** A Server-Sent Events client for tests: collects the events of one stream and waits for the ones asked for. */
import { request, type ClientRequest } from "node:http";
import { eventually } from "./wait.js";

export interface SseEvent {
  event: string;
  data: string;
}

export interface SseStream {
  readonly events: SseEvent[];
  readonly status: number;
  /** Resolves with the first event (from the start of the stream) that matches. */
  waitFor(match: (event: SseEvent) => boolean, timeoutMs?: number, what?: string): Promise<SseEvent>;
  close(): void;
}

export function openSse(url: string): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    const events: SseEvent[] = [];
    const req: ClientRequest = request(url, { headers: { accept: "text/event-stream" } }, (res) => {
      let buffer = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf("\n\n")) !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = "message";
          const data: string[] = [];
          for (const line of block.split("\n")) {
            if (line.startsWith("event: ")) event = line.slice(7);
            else if (line.startsWith("data: ")) data.push(line.slice(6));
          }
          if (data.length > 0) events.push({ event, data: data.join("\n") });
        }
      });
      res.on("error", () => {});
      resolve({
        events,
        status: res.statusCode ?? 0,
        waitFor: (match, timeoutMs = 10_000, what = "an event") => eventually(() => events.find(match), timeoutMs, what),
        close: () => req.destroy(),
      });
    });
    req.on("error", reject);
    req.end();
  });
}
