/**
 * A real ZooKeeper server for the tests and the demo: Debian's `zookeeper`
 * package (scripts/ensure-zookeeper.sh installs it when missing), started in
 * standalone mode straight from its jar with a generated zoo.cfg, on a free
 * port on 127.0.0.1 with a temporary data folder, and the admin server off.
 * The data folder outlives stop() so that restart() keeps the nodes and the
 * sessions, as a real restart does.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort } from "./ports.js";
import { start, waitUntilReady, type Started } from "./processes.js";

const REPO = resolve(import.meta.dirname, "../..");

/**
 * Sessions live at most this long without their client: short, so that the
 * tests see an expired session or a dead instance's node disappear within
 * seconds (ZooKeeper's default bound is 20 ticks of 2 s).
 */
export const ZOOKEEPER_MAX_SESSION_TIMEOUT_MS = 4_000;

let classpath: string | undefined;
/**
 * The package's server jar (its manifest names the libraries it needs) and an
 * SLF4J binding so that the server's warnings reach its output.
 */
export function zookeeperClasspath(): string {
  if (classpath === undefined) {
    const jars = execFileSync("bash", [join(REPO, "scripts/ensure-zookeeper.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] })
      .trim()
      .split("\n")
      .at(-1)!;
    classpath = [join(jars, "zookeeper.jar"), join(jars, "slf4j-simple.jar")].join(":");
  }
  return classpath;
}

/** The four-letter words the harness uses, allowed in zoo.cfg. */
type FourLetterWord = "srvr" | "wchc" | "cons";

export class ZooKeeperServer {
  private process: Started | undefined;

  private constructor(
    readonly port: number,
    readonly dataDir: string,
  ) {}

  /** host:port, the form ZOOKEEPER_CONNECT takes. */
  get connect(): string {
    return `127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.process?.child.pid;
  }

  /** Starts a standalone server; `port` fixed (the demo's 2181) or free. */
  static async start(options: { port?: number } = {}): Promise<ZooKeeperServer> {
    const server = new ZooKeeperServer(options.port ?? (await freePort()), mkdtempSync(join(tmpdir(), "kcg-zookeeper-")));
    await server.boot();
    return server;
  }

  /** Starts the process (again, after stop()) and waits until it serves. */
  async boot(): Promise<void> {
    const config = join(this.dataDir, "zoo.cfg");
    writeFileSync(
      config,
      [
        "tickTime=500",
        `dataDir=${join(this.dataDir, "data")}`,
        "clientPortAddress=127.0.0.1",
        `clientPort=${this.port}`,
        "admin.enableServer=false",
        "4lw.commands.whitelist=srvr,wchc,cons",
        `maxSessionTimeout=${ZOOKEEPER_MAX_SESSION_TIMEOUT_MS}`,
        // Test data need not survive a power cut; fsync on every write would slow a shared 2-core machine.
        "forceSync=no",
        "",
      ].join("\n"),
    );
    this.process = start("java", [
      "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
      "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-Dzookeeper.admin.enableServer=false",
      "-cp", zookeeperClasspath(), "org.apache.zookeeper.server.ZooKeeperServerMain", config,
    ]);
    await waitUntilReady(this.process, async () => /Mode: standalone/.test(await this.command("srvr")), 60_000, `ZooKeeper serving on ${this.connect}`);
  }

  /** Sends a four-letter word and returns the server's answer. */
  command(word: FourLetterWord): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = connect(this.port, "127.0.0.1");
      let answer = "";
      socket.setTimeout(2_000, () => socket.destroy(new Error(`no answer to ${word}`)));
      socket.on("connect", () => socket.end(word));
      socket.on("data", (chunk: Buffer) => (answer += chunk.toString()));
      socket.on("error", reject);
      socket.on("close", () => resolve(answer));
    });
  }

  /** Stops the server (SIGTERM); its data folder is kept for boot(). */
  async stop(): Promise<void> {
    await this.process?.stop(10_000);
    this.process = undefined;
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
