/**
 * ZooKeeperSession (zookeeper-adapter.ts) where node-zookeeper-client leaves
 * gaps, against a fake server on loopback that answers the handshake only
 * when a test says so: a handshake never answered, a close during the
 * handshake, requests queued when the session turns out to have expired.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { isSessionExpired, ZooKeeperSession } from "../../src/discovery/registries/zookeeper-adapter.js";
import { eventually, within } from "../support/wait.js";

/** A ZooKeeper server as far as the handshake goes: it accepts, records, and answers only when told to. */
class FakeServer {
  readonly connections: Socket[] = [];
  /** Connections whose handshake (ConnectRequest) has arrived. */
  readonly handshakes: Socket[] = [];
  readonly closed = new Set<Socket>();

  private constructor(private readonly server: Server) {
    server.on("connection", (socket) => {
      this.connections.push(socket);
      socket.on("error", () => socket.destroy());
      socket.on("close", () => this.closed.add(socket));
      socket.once("data", () => this.handshakes.push(socket));
    });
  }

  static async start(): Promise<FakeServer> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return new FakeServer(server);
  }

  get connect(): string {
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Answers a handshake: a session with `timeoutMs`, or, with 0, "your session expired" (and closes, as ZooKeeper does). */
  answer(socket: Socket, timeoutMs: number): void {
    const body = Buffer.alloc(4 + 4 + 8 + 4 + 16);
    body.writeInt32BE(0, 0); // protocol version
    body.writeInt32BE(timeoutMs, 4);
    body.writeBigInt64BE(timeoutMs > 0 ? 0x1234n : 0n, 8); // session id
    body.writeInt32BE(16, 16); // password: 16 bytes
    const frame = Buffer.alloc(4);
    frame.writeInt32BE(body.length, 0);
    socket.write(Buffer.concat([frame, body]));
    if (timeoutMs <= 0) socket.end();
  }

  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.connections) socket.destroy();
    await closed;
  }
}

const servers: FakeServer[] = [];
const sessions: ZooKeeperSession[] = [];
async function setup(sessionTimeoutMs: number): Promise<{ server: FakeServer; session: ZooKeeperSession }> {
  const server = await FakeServer.start();
  const session = new ZooKeeperSession({ connect: server.connect, sessionTimeoutMs });
  servers.push(server);
  sessions.push(session);
  return { server, session };
}

after(async () => {
  for (const session of sessions) session.close();
  await Promise.all(servers.map((server) => server.stop()));
});

test("a connection accepted and never answered is given up after the connect timeout, and the client connects again", async () => {
  // One server: the connect timeout is the whole session timeout asked for, 1 s.
  const { server, session } = await setup(1_000);
  session.connect();
  await eventually(() => server.handshakes.length === 1, 10_000, "the first handshake");
  await eventually(() => server.connections.length >= 2, 10_000, "a second connection after the first went unanswered");
  assert.ok(server.closed.has(server.connections[0]!), "the unanswered connection was dropped");
});

test("closed while its handshake is unanswered, the session drops that connection and never reads the answer as a reply", async () => {
  const { server, session } = await setup(30_000);
  session.connect();
  await eventually(() => server.handshakes.length === 1, 10_000, "the handshake");
  const connection = server.handshakes[0]!;
  session.close();
  // The answer arrives after the close request went out: the client must not parse it as that request's reply
  // (which threw an uncaught "Unknown code" error, failing this test).
  server.answer(connection, 4_000);
  await eventually(() => server.closed.has(connection), 10_000, "the connection closed by the client");
});

test("requests queued while disconnected fail with SESSION_EXPIRED when the session turns out to have expired", async () => {
  const { server, session } = await setup(4_000);
  let connected = 0;
  let disconnected = 0;
  session.on("connected", () => connected++);
  session.on("disconnected", () => disconnected++);
  session.connect();
  await eventually(() => server.handshakes.length === 1, 10_000, "the first handshake");
  server.answer(server.handshakes[0]!, 4_000);
  await eventually(() => connected === 1, 10_000, "connected");

  server.connections[0]!.destroy();
  await eventually(() => disconnected === 1, 10_000, "disconnected");
  // Queued: the client sends nothing until it is connected again.
  const queued = session.getData("/services/web");
  await eventually(() => server.handshakes.length === 2, 10_000, "the handshake of the reconnection");
  server.answer(server.handshakes[1]!, 0);
  await assert.rejects(within(queued, 10_000, "the queued request settled"), (err) => isSessionExpired(err));
});
