/**
 * A loopback TCP proxy in front of a server that can stall the way ZooKeeper
 * 3.8 does to a connection that arrives while it restarts: accept it and never
 * answer (see guardHandshake in src/discovery/registries/zookeeper-adapter.ts).
 * stall() cuts the connections it carries, and every connection accepted
 * while stalled stays silent for good (until stop()), whatever comes after:
 * only connections accepted after resume() reach the server.
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";

export class StallingProxy {
  private stalled = false;
  private readonly carried = new Set<Socket>();
  private readonly silent = new Set<Socket>();
  /** How many connections were accepted while stalled: each one a client left waiting for an answer. */
  stalledConnections = 0;

  private constructor(
    private readonly server: Server,
    private readonly targetPort: number,
  ) {
    server.on("connection", (socket) => this.accept(socket));
  }

  /** A proxy on a free loopback port to 127.0.0.1:`targetPort`. */
  static async start(targetPort: number): Promise<StallingProxy> {
    const server = createServer();
    const proxy = new StallingProxy(server, targetPort);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", resolve);
    });
    return proxy;
  }

  /** host:port, the form ZOOKEEPER_CONNECT takes. */
  get connect(): string {
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Cuts every carried connection; from now on connections are accepted and never answered. */
  stall(): void {
    this.stalled = true;
    for (const socket of this.carried) socket.destroy();
  }

  /** New connections reach the server again; those accepted while stalled stay silent. */
  resume(): void {
    this.stalled = false;
  }

  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of [...this.carried, ...this.silent]) socket.destroy();
    await closed;
  }

  private accept(client: Socket): void {
    client.on("error", () => client.destroy());
    if (this.stalled) {
      this.stalledConnections += 1;
      this.silent.add(client);
      client.on("close", () => this.silent.delete(client));
      // Read and drop what the client sends (its handshake), as a server that accepted it would, and never write.
      client.resume();
      return;
    }
    const upstream = connect(this.targetPort, "127.0.0.1");
    for (const [socket, other] of [[client, upstream], [upstream, client]] as const) {
      this.carried.add(socket);
      socket.on("error", () => socket.destroy());
      socket.on("close", () => {
        this.carried.delete(socket);
        other.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
