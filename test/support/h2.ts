/**
 * HTTP/2 clients for the tests: node:http2 for well-behaved requests, a raw
 * frame writer for hostile ones that node:http2 would refuse to send, and
 * curl (whose --http2 flags are what users type).
 */
import { connect, constants, type ClientSessionOptions, type IncomingHttpHeaders, type OutgoingHttpHeaders, type SecureClientSessionOptions } from "node:http2";
import { connect as tcpConnect } from "node:net";
import { execFile } from "node:child_process";

export interface H2Response {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  trailers: IncomingHttpHeaders;
  /** JSON body, when it is JSON. */
  json<T = unknown>(): T;
}

/**
 * One HTTP/2 request on a session of its own (`authority` is http(s)://host:port).
 * `headers` may carry pseudo-headers; :method defaults to GET.
 */
export async function h2Request(
  authority: string,
  path: string,
  headers: OutgoingHttpHeaders = {},
  body?: Buffer | string,
  options: ClientSessionOptions | SecureClientSessionOptions = {},
): Promise<H2Response> {
  const session = connect(authority, options);
  try {
    return await new Promise<H2Response>((resolve, reject) => {
      session.once("error", reject);
      const stream = session.request({ ":path": path, ...headers }, { endStream: body === undefined });
      let responseHeaders: IncomingHttpHeaders = {};
      let trailers: IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      stream.on("response", (h) => (responseHeaders = h));
      stream.on("trailers", (t) => (trailers = t));
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("error", reject);
      stream.on("close", () => {
        if (stream.rstCode !== constants.NGHTTP2_NO_ERROR && responseHeaders[":status"] === undefined) {
          reject(Object.assign(new Error(`stream reset with HTTP/2 code ${stream.rstCode}`), { rstCode: stream.rstCode }));
          return;
        }
        const all = Buffer.concat(chunks);
        resolve({
          status: Number(responseHeaders[":status"]),
          headers: responseHeaders,
          body: all,
          trailers,
          json: <T>() => JSON.parse(all.toString("utf8")) as T,
        });
      });
      if (body !== undefined) stream.end(body);
    });
  } finally {
    session.close();
  }
}

export interface CurlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** curl with a time limit; never rejects, the exit code says how it went. */
export function curl(args: readonly string[], timeoutSeconds = 20): Promise<CurlResult> {
  return new Promise((resolve) => {
    execFile("curl", ["-sS", "-m", String(timeoutSeconds), ...args], { encoding: "utf8" }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code) : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

// Raw frames (RFC 9113 §4.1): 3-byte length, type, flags, 4-byte stream id.
const FRAME_DATA = 0x0;
const FRAME_HEADERS = 0x1;
const FRAME_RST_STREAM = 0x3;
const FRAME_SETTINGS = 0x4;
const FRAME_GOAWAY = 0x7;
const FLAG_END_STREAM = 0x1;
const FLAG_END_HEADERS = 0x4;
const FLAG_ACK = 0x1;

function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

function hpackLength(length: number): Buffer {
  // A 7-bit prefix integer (RFC 7541 §5.1), Huffman off.
  if (length < 127) return Buffer.from([length]);
  const bytes = [127];
  let rest = length - 127;
  while (rest >= 128) {
    bytes.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

/** A header block of literal fields without indexing, new names (RFC 7541 §6.2.2): any bytes, as a hostile client may send. */
export function literalHeaderBlock(fields: readonly (readonly [string, string])[]): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of fields) {
    const n = Buffer.from(name, "latin1");
    const v = Buffer.from(value, "latin1");
    parts.push(Buffer.from([0x00]), hpackLength(n.length), n, hpackLength(v.length), v);
  }
  return Buffer.concat(parts);
}

export interface RawOutcome {
  /** :status of the answer on stream 1, if one came (decoded only when the server sent it as a literal or static index). */
  answered: boolean;
  rstCode: number | undefined;
  goawayCode: number | undefined;
  /** The connection ended (closed or reset) without either. */
  closed: boolean;
}

/**
 * Opens a cleartext HTTP/2 connection with prior knowledge, sends `fields` as
 * the header block of stream 1 (END_STREAM unless `body`), and reports how
 * the server reacted: an answer (a HEADERS frame on stream 1), a stream reset,
 * a GOAWAY, or a closed connection. Gives up after `timeoutMs`.
 */
export function rawH2Request(port: number, fields: readonly (readonly [string, string])[], { body, timeoutMs = 10_000 }: { body?: Buffer; timeoutMs?: number } = {}): Promise<RawOutcome> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(port, "127.0.0.1");
    const outcome: RawOutcome = { answered: false, rstCode: undefined, goawayCode: undefined, closed: false };
    let buffer = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no reaction from the server within ${timeoutMs} ms`));
    }, timeoutMs);
    const finish = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    socket.on("connect", () => {
      const block = literalHeaderBlock(fields);
      socket.write(
        Buffer.concat([
          Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
          frame(FRAME_SETTINGS, 0, 0, Buffer.alloc(0)),
          frame(FRAME_HEADERS, FLAG_END_HEADERS | (body === undefined ? FLAG_END_STREAM : 0), 1, block),
          ...(body === undefined ? [] : [frame(FRAME_DATA, FLAG_END_STREAM, 1, body)]),
        ]),
      );
    });
    socket.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      while (buffer.length >= 9) {
        const length = buffer.readUIntBE(0, 3);
        if (buffer.length < 9 + length) break;
        const type = buffer[3]!;
        const flags = buffer[4]!;
        const streamId = buffer.readUInt32BE(5) & 0x7fffffff;
        const payload = buffer.subarray(9, 9 + length);
        buffer = buffer.subarray(9 + length);
        if (type === FRAME_SETTINGS && (flags & FLAG_ACK) === 0) socket.write(frame(FRAME_SETTINGS, FLAG_ACK, 0, Buffer.alloc(0)));
        if (type === FRAME_HEADERS && streamId === 1) {
          outcome.answered = true;
          return finish();
        }
        if (type === FRAME_RST_STREAM && streamId === 1) {
          outcome.rstCode = payload.readUInt32BE(0);
          return finish();
        }
        if (type === FRAME_GOAWAY) {
          outcome.goawayCode = payload.readUInt32BE(4);
          return finish();
        }
      }
    });
    socket.on("error", () => {
      outcome.closed = true;
      finish();
    });
    socket.on("close", () => {
      outcome.closed = true;
      finish();
    });
  });
}
