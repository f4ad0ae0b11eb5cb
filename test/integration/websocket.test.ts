/**
 * WebSocket upgrades through the gateway, with the real `ws` client and
 * server: routed, balanced and retried like requests, then piped both ways
 * until either side closes. Every refusal is a JSON answer before any switch.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect, createServer, type Server, type Socket } from "node:net";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import superagent from "superagent";
import WebSocket from "ws";
import { ConsulAgent } from "../support/consul.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { freePort } from "../support/ports.js";
import { startTs } from "../support/processes.js";
import { eventually } from "../support/wait.js";
import {
  closed,
  HandshakeRefused,
  nextMessage,
  openWebSocket,
  startWsEchoBackend,
  startWsEchoProcess,
  type WsEchoBackend,
  type WsEchoProcess,
} from "../support/websocket.js";

const ttl = { TTL: "1h", Status: "passing" };
const wsUrl = (gateway: TestGateway, path: string): string => `ws://127.0.0.1:${gateway.port}${path}`;

/** Upgraded connections open to `instance` now, as GET /routes/<service> shows them. */
async function openUpgrades(gateway: TestGateway, service: string, instance: string): Promise<number> {
  const view = (await superagent.get(`${gateway.adminUrl}/routes/${service}`)).body as { instances: { id: string; upgradedConnections: number }[] };
  return view.instances.find((i) => i.id === instance)?.upgradedConnections ?? NaN;
}

async function refusal(url: string, options: WebSocket.ClientOptions = {}): Promise<HandshakeRefused> {
  const err = await openWebSocket(url, options).then(
    (socket) => {
      socket.terminate();
      return undefined;
    },
    (e: unknown) => e,
  );
  assert.ok(err instanceof HandshakeRefused, `expected a refused handshake, got ${String(err)}`);
  return err;
}

/** A TCP server that accepts connections and never answers: a handshake that hangs. */
async function startSilentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    port: (server.address() as { port: number }).port,
    close: () => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); }),
  };
}

describe("WebSocket proxying", () => {
  let consul: ConsulAgent;
  let echo: WsEchoBackend;
  let second: WsEchoBackend;
  let silent: Awaited<ReturnType<typeof startSilentServer>>;
  let gateway: TestGateway;
  let logDir: string;

  before(async () => {
    consul = await ConsulAgent.start();
    echo = await startWsEchoBackend("echo-1");
    second = await startWsEchoBackend("retry-live");
    silent = await startSilentServer();
    logDir = mkdtempSync(join(tmpdir(), "kcg-ws-log-"));
    await consul.register({ ID: "echo-1", Name: "chat", Address: "127.0.0.1", Port: echo.port, Check: ttl, Tags: ["urlprefix-/live/feed"] });
    // Round-robin takes instances in id order: the refusing one is always tried first.
    await consul.register({ ID: "a-refusing", Name: "retrying", Address: "127.0.0.1", Port: await freePort(), Check: ttl });
    await consul.register({ ID: "retry-live", Name: "retrying", Address: "127.0.0.1", Port: second.port, Check: ttl });
    await consul.register({ ID: "silent", Name: "hanging", Address: "127.0.0.1", Port: silent.port, Check: ttl });
    gateway = await startTestGateway(consul.address, {
      GATEWAY_BALANCER: "round-robin",
      GATEWAY_SERVICES: "chat,retrying,hanging",
      GATEWAY_OUTLIER_FAILURES: "0",
      GATEWAY_WEBSOCKET_HANDSHAKE_TIMEOUT_MS: "1000",
      GATEWAY_ACCESS_LOG: join(logDir, "access.log"),
    });
  });

  after(async () => {
    await gateway?.close();
    await Promise.all([echo?.close(), second?.close(), silent?.close()]);
    await consul?.destroy();
    if (logDir) rmSync(logDir, { recursive: true, force: true });
  });

  test("text and binary messages are echoed both ways, and the instance sees a WebSocket handshake with X-Forwarded-* set", async () => {
    const socket = await openWebSocket(wsUrl(gateway, "/chat/socket?room=1"), {}, ["chat.v1", "chat.v0"]);
    try {
      assert.equal(socket.protocol, "chat.v1", "the subprotocol the instance chose reaches the client");
      socket.send("hello");
      const text = await nextMessage(socket);
      assert.deepEqual([text.data.toString(), text.isBinary], ["hello", false]);
      const bytes = randomBytes(1024);
      socket.send(bytes);
      const binary = await nextMessage(socket);
      assert.ok(binary.isBinary);
      assert.ok(binary.data.equals(bytes));
      socket.send("whoami");
      assert.equal((await nextMessage(socket)).data.toString(), "echo-1");
      const handshake = echo.handshakes.at(-1)!;
      assert.equal(handshake.upgrade?.toLowerCase(), "websocket");
      assert.equal(handshake["sec-websocket-protocol"], "chat.v1,chat.v0", "the protocols the client offered");
      assert.equal(handshake["x-forwarded-for"], "127.0.0.1");
      assert.equal(handshake["x-forwarded-proto"], "http");
      assert.ok(handshake["x-request-id"], "the request id travels with the handshake");
    } finally {
      socket.close();
      await closed(socket);
    }
  });

  test("an 8 MB binary frame goes through and back intact", async () => {
    const socket = await openWebSocket(wsUrl(gateway, "/chat/big"));
    try {
      const payload = randomBytes(8 * 1024 * 1024);
      socket.send(payload);
      const echoed = await nextMessage(socket);
      assert.equal(echoed.data.length, payload.length);
      assert.ok(echoed.data.equals(payload));
    } finally {
      socket.close();
      await closed(socket);
    }
  });

  test("the instance closing the socket reaches the client with its code and reason; /routes counts the connection while it is open", async () => {
    const socket = await openWebSocket(wsUrl(gateway, "/chat/socket"));
    await eventually(async () => (await openUpgrades(gateway, "chat", "echo-1")) === 1, 10_000, "one open upgraded connection in /routes");
    const done = closed(socket);
    socket.send("close:4001");
    assert.deepEqual(await done, { code: 4001, reason: "closed by the instance" });
    await eventually(async () => (await openUpgrades(gateway, "chat", "echo-1")) === 0, 10_000, "no open upgraded connection in /routes");
  });

  test("the client closing the socket closes the instance's side", async () => {
    const socket = await openWebSocket(wsUrl(gateway, "/chat/socket"));
    await eventually(() => echo.openSockets() >= 1, 10_000, "the instance's socket open");
    socket.close(1000, "bye");
    assert.equal((await closed(socket)).code, 1000);
    await eventually(() => echo.openSockets() === 0, 10_000, "the instance's socket closed");
  });

  test("a prefix route (urlprefix- tag) and a header route lead to the same instance", async () => {
    for (const [path, headers] of [
      ["/live/feed", {}],
      ["/services", { service_name: "chat", api_name: "/socket" }],
    ] as const) {
      const socket = await openWebSocket(wsUrl(gateway, path), { headers });
      socket.send("whoami");
      assert.equal((await nextMessage(socket)).data.toString(), "echo-1", path);
      socket.close();
      await closed(socket);
    }
  });

  test("a refused connection is retried on another instance: every upgrade succeeds on the live one", async () => {
    for (let i = 0; i < 4; i++) {
      const socket = await openWebSocket(wsUrl(gateway, "/retrying/socket"));
      socket.send("whoami");
      assert.equal((await nextMessage(socket)).data.toString(), "retry-live");
      socket.close();
      await closed(socket);
    }
    assert.ok((gateway.stats.peek(`${consul.node}/a-refusing`)?.failures ?? 0) >= 1, "the refusing instance was tried first");
  });

  test("an upgrade to an unknown service gets the JSON 404 before any switch", async () => {
    const err = await refusal(wsUrl(gateway, "/no-such-service/socket"));
    assert.equal(err.status, 404);
    assert.match(String(err.headers["content-type"]), /application\/json/);
    assert.equal((JSON.parse(err.body) as { error: { code: string } }).error.code, "UNKNOWN_SERVICE");
  });

  test("bad upgrades get a JSON 4xx, never a silent close", async () => {
    const cases: [string, number, string][] = [
      ["/", 404, "ROUTE_NOT_FOUND"],
      ["/bad%20name/socket", 400, "INVALID_SERVICE_NAME"],
      ["/services", 400, "INVALID_SERVICE_NAME"],
    ];
    for (const [path, status, code] of cases) {
      const err = await refusal(wsUrl(gateway, path));
      assert.equal(err.status, status, path);
      assert.equal((JSON.parse(err.body) as { error: { code: string } }).error.code, code, path);
    }
  });

  test("hostile handshakes on a raw socket: each gets a status line and a JSON body (or the instance's answer), then the connection ends", async () => {
    const upgradeHead = "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    const cases: [string, string, number][] = [
      ["unknown service", `GET /nope/x HTTP/1.1\r\nHost: a\r\n${upgradeHead}\r\n`, 404],
      ["dot segments in the service", `GET /..%2f..%2fetc/x HTTP/1.1\r\nHost: a\r\n${upgradeHead}\r\n`, 400],
      ["a URL past the limit", `GET /chat/${"a".repeat(9000)} HTTP/1.1\r\nHost: a\r\n${upgradeHead}\r\n`, 414],
      ["no WebSocket key (the instance refuses)", `GET /chat/x HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n`, 400],
      ["a protocol the instance does not speak", `GET /chat/x HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: something-else\r\n\r\n`, 400],
    ];
    for (const [what, raw, status] of cases) {
      const socket = connect(gateway.port, "127.0.0.1");
      socket.write(raw);
      let answer = "";
      socket.setEncoding("latin1");
      socket.on("data", (chunk: string) => (answer += chunk));
      await once(socket, "close");
      assert.match(answer, new RegExp(`^HTTP/1\\.1 ${status} `), `${what}: ${answer.slice(0, 200)}`);
      if (status !== 400 || what.startsWith("dot")) assert.match(answer, /\r\n\r\n\{"error":\{"code":"[A-Z_]+"/, `${what}: a JSON error body`);
    }
  });

  test("an instance that never answers the handshake gets a JSON 504 after the handshake timeout", async () => {
    const err = await refusal(wsUrl(gateway, "/hanging/socket"));
    assert.equal(err.status, 504);
    assert.equal((JSON.parse(err.body) as { error: { code: string } }).error.code, "UPSTREAM_TIMEOUT");
  });

  test("an instance that answers the handshake without switching has its answer relayed", async () => {
    const err = await refusal(wsUrl(gateway, "/chat/refuse"));
    assert.equal(err.status, 401, "the instance's refusal, as it answered it");
    assert.ok(err.headers["x-request-id"], "with the gateway's request id");
  });

  test("upgrades are counted in the metrics and the access log, with status 101", async () => {
    const socket = await openWebSocket(wsUrl(gateway, "/chat/logged"));
    socket.send("x");
    await nextMessage(socket);
    socket.close();
    await closed(socket);
    const lines = await eventually(
      () => {
        const text = (() => { try { return readFileSync(join(logDir, "access.log"), "utf8"); } catch { return ""; } })();
        const found = text.split("\n").filter((l) => l.includes('"/chat/logged"'));
        return found.length > 0 ? found : undefined;
      },
      10_000,
      "the access log line of the upgrade",
    );
    const entry = JSON.parse(lines[0]!) as { status: number; service: string; instance: string; bytes: number };
    assert.equal(entry.status, 101);
    assert.equal(entry.service, "chat");
    assert.equal(entry.instance, `${consul.node}/echo-1`);
    assert.ok(entry.bytes > 0, "bytes sent to the client are counted");
    const metrics = (await superagent.get(`${gateway.adminUrl}/metrics`).buffer(true)).text;
    assert.match(metrics, new RegExp(`gateway_requests_total\\{service="chat",instance="${consul.node}/echo-1",status_class="1xx"\\} [1-9]`));
    assert.match(metrics, /gateway_upgraded_connections\{service="chat"\} 0/);
  });
});

describe("WebSocket: an instance killed mid-stream, idle sockets, deregistration and drain", () => {
  let consul: ConsulAgent;
  let killed: WsEchoProcess;
  let stays: WsEchoBackend;
  let leaves: WsEchoBackend;
  let gateway: TestGateway;

  before(async () => {
    consul = await ConsulAgent.start();
    killed = await startWsEchoProcess("killed");
    stays = await startWsEchoBackend("stays");
    leaves = await startWsEchoBackend("leaves");
    await consul.register({ ID: "killed", Name: "doomed", Address: "127.0.0.1", Port: killed.port, Check: ttl });
    await consul.register({ ID: "stays", Name: "deploy", Address: "127.0.0.1", Port: stays.port, Check: ttl });
    await consul.register({ ID: "leaves", Name: "deploy", Address: "127.0.0.1", Port: leaves.port, Check: ttl });
    await consul.register({ ID: "idle", Name: "idle", Address: "127.0.0.1", Port: stays.port, Check: ttl });
    gateway = await startTestGateway(consul.address, {
      GATEWAY_SERVICES: "doomed,deploy,idle",
      GATEWAY_BALANCER: "round-robin",
      GATEWAY_WEBSOCKET_DEREGISTERED_GRACE_MS: "500",
      GATEWAY_WEBSOCKET_IDLE_TIMEOUT_MS: "60000",
      GATEWAY_SHUTDOWN_GRACE_MS: "1500",
    });
  });

  after(async () => {
    await gateway?.close();
    await killed?.process.stop();
    await Promise.all([stays?.close(), leaves?.close()]);
    await consul?.destroy();
  });

  test("kill -9 of the instance mid-stream closes the client's socket, and /routes counts it no more", async () => {
    const socket = await openWebSocket(wsUrl(gateway, "/doomed/socket"));
    socket.send("before");
    assert.equal((await nextMessage(socket)).data.toString(), "before");
    const done = closed(socket);
    killed.process.child.kill("SIGKILL");
    const { code } = await done;
    assert.equal(code, 1006, "an abnormal closure: no close frame came from the dead instance");
    await eventually(async () => (await openUpgrades(gateway, "doomed", "killed")) === 0 || Number.isNaN(await openUpgrades(gateway, "doomed", "killed")), 10_000, "the connection forgotten");
  });

  test("a deregistered instance's sockets are closed after the grace, others stay open", async () => {
    const toStays: WebSocket[] = [];
    let toLeaves: WebSocket | undefined;
    for (let i = 0; i < 4 && (toLeaves === undefined || toStays.length === 0); i++) {
      const socket = await openWebSocket(wsUrl(gateway, "/deploy/socket"));
      socket.send("whoami");
      const id = (await nextMessage(socket)).data.toString();
      if (id === "leaves" && toLeaves === undefined) toLeaves = socket;
      else if (id === "stays") toStays.push(socket);
      else socket.close();
    }
    assert.ok(toLeaves !== undefined && toStays.length > 0, "round-robin gave a socket to each instance");
    const leavesClosed = closed(toLeaves);
    await consul.deregister("leaves");
    const { code } = await leavesClosed;
    assert.ok(code === 1006 || code === 1001, `closed by the gateway (${code})`);
    const kept = toStays[0]!;
    assert.equal(kept.readyState, WebSocket.OPEN);
    kept.send("still here");
    assert.equal((await nextMessage(kept)).data.toString(), "still here");
    for (const s of toStays) s.close();
  });

  test("on shutdown, open sockets keep working during the drain grace, then are closed", async () => {
    const socket = await openWebSocket(wsUrl(gateway, "/idle/socket"));
    const done = closed(socket);
    const closing = gateway.close();
    socket.send("during drain");
    assert.equal((await nextMessage(socket)).data.toString(), "during drain");
    await done;
    await closing;
    // The port is closed to new upgrades.
    await assert.rejects(openWebSocket(wsUrl(gateway, "/idle/socket")));
  });
});

describe("WebSocket idle timeout", () => {
  let consul: ConsulAgent;
  let echo: WsEchoBackend;
  let gateway: TestGateway;

  before(async () => {
    consul = await ConsulAgent.start();
    echo = await startWsEchoBackend("quiet");
    await consul.register({ ID: "quiet", Name: "quiet", Address: "127.0.0.1", Port: echo.port, Check: ttl });
    gateway = await startTestGateway(consul.address, {
      GATEWAY_SERVICES: "quiet",
      GATEWAY_WEBSOCKET_IDLE_TIMEOUT_MS: "1500",
      // The client timeouts bound a request's head and body; an upgraded connection is past both.
      GATEWAY_CLIENT_HEADERS_TIMEOUT_MS: "200",
      GATEWAY_CLIENT_REQUEST_TIMEOUT_MS: "300",
    });
  });

  after(async () => {
    await gateway?.close();
    await echo?.close();
    await consul?.destroy();
  });

  test("a socket that keeps talking outlives the client header and request timeouts", async () => {
    const socket = await openWebSocket(wsUrl(gateway, "/quiet/socket"));
    try {
      // Past both client timeouts, with traffic more often than the idle timeout.
      for (let i = 0; i < 4; i++) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        socket.send(`still ${i}`);
        assert.equal((await nextMessage(socket)).data.toString(), `still ${i}`);
      }
    } finally {
      socket.close();
      await closed(socket);
    }
  });

  test("a socket with no traffic either way is closed after the idle timeout, on both sides", async () => {
    const socket = await openWebSocket(wsUrl(gateway, "/quiet/socket"));
    await closed(socket);
    await eventually(() => echo.openSockets() === 0, 10_000, "the instance's side closed too");
  });
});

describe("WebSocket and SIGTERM, as a process", () => {
  let consul: ConsulAgent;
  let echo: WsEchoBackend;

  before(async () => {
    consul = await ConsulAgent.start();
    echo = await startWsEchoBackend("sigterm");
    await consul.register({ ID: "sigterm", Name: "live", Address: "127.0.0.1", Port: echo.port, Check: ttl });
  });

  after(async () => {
    await echo?.close();
    await consul?.destroy();
  });

  test("on SIGTERM an open socket keeps working during the drain grace, then is closed, and the process exits 0", async () => {
    const port = await freePort();
    const gateway = startTs("src/main.ts", [], {
      env: {
        ...process.env,
        CONSUL_HTTP_ADDR: consul.address,
        GATEWAY_HOST: "127.0.0.1",
        GATEWAY_PORT: String(port),
        GATEWAY_ADMIN_PORT: "0",
        GATEWAY_SERVICES: "live",
        GATEWAY_SHUTDOWN_GRACE_MS: "2000",
      },
    });
    try {
      const socket = await eventually(() => openWebSocket(`ws://127.0.0.1:${port}/live/socket`), 30_000, "the gateway proxying WebSockets");
      const done = closed(socket);
      gateway.child.kill("SIGTERM");
      socket.send("after SIGTERM");
      assert.equal((await nextMessage(socket)).data.toString(), "after SIGTERM");
      await done;
      assert.equal(await gateway.exited, 0);
      await eventually(() => echo.openSockets() === 0, 10_000, "the instance's side closed");
    } finally {
      await gateway.stop();
    }
  });
});
