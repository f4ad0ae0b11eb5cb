/**
 * WebSocket instances and clients for the upgrade tests, with the real `ws`
 * package on both sides. An instance echoes every message back (text stays
 * text, binary stays binary) and answers plain HTTP too, so that it can be
 * registered with an HTTP check. `startWsEchoProcess` runs the same echo
 * server in a child process, for tests that kill it with SIGKILL mid-stream.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server } from "node:http";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import WebSocket, { WebSocketServer } from "ws";
import { startTs, type Started } from "./processes.js";

export interface WsEchoBackend {
  id: string;
  port: number;
  server: Server;
  wss: WebSocketServer;
  /** The handshake headers of every upgrade this instance accepted, in order. */
  handshakes: IncomingHttpHeaders[];
  /** Sockets open on the instance's side now. */
  openSockets(): number;
  close(): Promise<void>;
}

/**
 * Echoes messages; a text message "close:<code>" makes the instance close the
 * socket with that code, "whoami" answers the instance id.
 */
export function attachEcho(wss: WebSocketServer, id: string): void {
  wss.on("connection", (socket) => {
    socket.on("message", (data, isBinary) => {
      if (!isBinary) {
        const text = data.toString();
        if (text === "whoami") return socket.send(id);
        if (text.startsWith("close:")) return socket.close(Number(text.slice(6)), "closed by the instance");
      }
      socket.send(data, { binary: isBinary });
    });
    socket.on("error", () => socket.terminate());
  });
}

export async function startWsEchoBackend(id: string, options: { host?: string } = {}): Promise<WsEchoBackend> {
  const handshakes: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ id, path: req.url, upgrade: req.headers.upgrade ?? null }));
  });
  // A handshake for /refuse... is refused by the instance (ws answers 401), to show that the refusal reaches the client.
  const wss = new WebSocketServer({ server, maxPayload: 64 * 1024 * 1024, verifyClient: (info: { req: IncomingMessage }) => !info.req.url?.startsWith("/refuse") });
  wss.on("headers", (_headers, req) => handshakes.push(req.headers));
  attachEcho(wss, id);
  server.listen(0, options.host ?? "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as AddressInfo).port;
  return {
    id,
    port,
    server,
    wss,
    handshakes,
    openSockets: () => [...wss.clients].filter((c) => c.readyState === WebSocket.OPEN).length,
    close: () =>
      new Promise<void>((done) => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}

export interface WsEchoProcess {
  id: string;
  port: number;
  process: Started;
}

/** The echo instance in a child process of its own (test/support/ws-echo-server.ts), on a free port it prints. */
export async function startWsEchoProcess(id: string): Promise<WsEchoProcess> {
  const started = startTs(resolve(import.meta.dirname, "ws-echo-server.ts"), [id]);
  const [, port] = await started.waitForOutput(/listening on (\d+)/, 30_000);
  return { id, port: Number(port), process: started };
}

/** What a refused handshake answered: the status, headers and body the client saw instead of a switch. */
export class HandshakeRefused extends Error {
  constructor(
    readonly status: number,
    readonly headers: IncomingHttpHeaders,
    readonly body: string,
  ) {
    super(`handshake refused with ${status}: ${body}`);
  }
}

/**
 * Opens a WebSocket and resolves once it is open; a handshake answered with
 * anything but 101 rejects with HandshakeRefused (status, headers, body).
 */
export function openWebSocket(url: string, options: WebSocket.ClientOptions = {}, protocols: string[] = []): Promise<WebSocket> {
  return new Promise((resolvePromise, reject) => {
    const socket = new WebSocket(url, protocols, { maxPayload: 64 * 1024 * 1024, ...options });
    socket.once("open", () => resolvePromise(socket));
    socket.once("unexpected-response", (_req, res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => reject(new HandshakeRefused(res.statusCode ?? 0, res.headers, body)));
      res.on("error", reject);
    });
    socket.once("error", reject);
  });
}

/** The next message on the socket (rejects if it closes first). */
export function nextMessage(socket: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  // Listening for "close" on a socket that is already closed would wait forever.
  if (socket.readyState === WebSocket.CLOSED) return Promise.reject(new Error("the socket is closed"));
  return new Promise((resolvePromise, reject) => {
    const onMessage = (data: WebSocket.RawData, isBinary: boolean): void => {
      cleanup();
      resolvePromise({ data: Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer), isBinary });
    };
    const onClose = (code: number): void => {
      cleanup();
      reject(new Error(`the socket closed (${code}) before a message arrived`));
    };
    const cleanup = (): void => {
      socket.off("message", onMessage);
      socket.off("close", onClose);
    };
    socket.on("message", onMessage);
    socket.on("close", onClose);
  });
}

/** Resolves with the close code and reason once the socket is closed (at once if it already is). */
export function closed(socket: WebSocket): Promise<{ code: number; reason: string }> {
  if (socket.readyState === WebSocket.CLOSED) return Promise.resolve({ code: 1006, reason: "" });
  return new Promise((resolvePromise) => socket.once("close", (code, reason) => resolvePromise({ code, reason: reason.toString() })));
}
