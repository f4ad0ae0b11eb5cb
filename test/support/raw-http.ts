/** HTTP/1.1 over a raw socket: for requests no well-behaved client would send. */
import { connect } from "node:net";
import { once } from "node:events";

export interface RawResponse {
  status: number;
  /** The status line and headers of the first response. */
  headers: string;
  body: string;
  /** Everything the gateway sent, interim responses included. */
  all: string;
}

/**
 * Writes `request` to a fresh connection and reads until the gateway closes
 * it, the first final response is complete (Content-Length), or `waitMs` passed.
 */
export async function rawRequest(port: number, request: string | Buffer, options: { halfClose?: boolean; waitMs?: number } = {}): Promise<RawResponse> {
  const socket = connect(port, "127.0.0.1");
  await once(socket, "connect");
  socket.write(request);
  if (options.halfClose) socket.end();
  let data = "";
  let done: () => void = () => {};
  const complete = new Promise<void>((resolve) => (done = resolve));
  socket.on("data", (chunk: Buffer) => {
    data += chunk.toString("latin1");
    if (parse(data).complete) done();
  });
  socket.on("error", () => done());
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([once(socket, "close"), complete, new Promise((resolve) => (timer = setTimeout(resolve, options.waitMs ?? 10_000)))]);
  clearTimeout(timer);
  socket.destroy();
  const { head, body } = parse(data);
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), headers: head, body, all: data };
}

/** The first non-interim response in `data`, and whether its body is all there. */
function parse(data: string): { head: string; body: string; complete: boolean } {
  let rest = data;
  for (;;) {
    const end = rest.indexOf("\r\n\r\n");
    if (end === -1) return { head: rest, body: "", complete: false };
    const head = rest.slice(0, end);
    rest = rest.slice(end + 4);
    if (/^HTTP\/1\.1 1\d\d/.test(head)) continue;
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    const complete = length !== null && Buffer.byteLength(rest, "latin1") >= Number(length[1]);
    return { head, body: rest, complete };
  }
}

/** The gateway's error code in a JSON error body ({"error":{"code"}}), if the body is one. */
export function errorCodeOf(body: string): string | undefined {
  const json = /\{.*\}/s.exec(body)?.[0];
  if (json === undefined) return undefined;
  try {
    return (JSON.parse(json) as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
}
