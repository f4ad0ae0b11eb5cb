/**
 * `npm run demo`: a real Consul agent, three self-registering service-web
 * instances and the gateway, as local processes. Ctrl-C stops everything.
 *
 * `npm run demo -- --registry zookeeper`: the same on a ZooKeeper server
 * (Debian's package) instead of Consul, the instances registering as
 * ephemeral nodes in Registrator's layout.
 *
 * `npm run demo -- --cluster`: the topology of docker-compose.yml instead: three
 * Consul servers joined into one cluster, the instances registering through
 * them in turn (the part Registrator plays in Docker), and the gateway given
 * all three addresses.
 *
 * Flags: --gateway-port N (3000), --admin-port N (9901), --consul-port N (8500,
 * the first server's), --instances N (3), --cluster, --registry consul|zookeeper,
 * --zookeeper-port N (2181).
 */
import { parseArgs } from "node:util";
import { ConsulAgent } from "../test/support/consul.js";
import { freePort, reservePorts } from "../test/support/ports.js";
import { startTs, type Started } from "../test/support/processes.js";
import { ZooKeeperServer } from "../test/support/zookeeper.js";

const { values } = parseArgs({
  options: {
    "gateway-port": { type: "string", default: "3000" },
    "admin-port": { type: "string", default: "9901" },
    "consul-port": { type: "string", default: "8500" },
    instances: { type: "string", default: "3" },
    cluster: { type: "boolean", default: false },
    registry: { type: "string", default: "consul" },
    "zookeeper-port": { type: "string", default: "2181" },
  },
});
if (values.registry !== "consul" && values.registry !== "zookeeper") {
  console.error(`demo: --registry: expected consul or zookeeper, got ${JSON.stringify(values.registry)}`);
  process.exit(2);
}
const onZooKeeper = values.registry === "zookeeper";
if (onZooKeeper && values.cluster) {
  console.error("demo: --cluster is a Consul cluster; with --registry zookeeper the demo runs one ZooKeeper server");
  process.exit(2);
}
const gatewayPort = Number(values["gateway-port"]);
const instances = Number(values.instances);

function relay(name: string, process: Started): void {
  const print = (chunk: Buffer): void => {
    for (const line of chunk.toString().split("\n")) if (line.trim()) console.log(`[${name}] ${line}`);
  };
  process.child.stdout?.on("data", print);
  process.child.stderr?.on("data", print);
}

const consulPort = Number(values["consul-port"]);
const zookeeperPort = Number(values["zookeeper-port"]);
if (onZooKeeper) console.log(`demo: starting ZooKeeper on 127.0.0.1:${zookeeperPort}`);
else console.log(values.cluster ? `demo: starting a three-server Consul cluster, the first on 127.0.0.1:${consulPort}` : `demo: starting Consul on 127.0.0.1:${consulPort}`);
const zookeeper = onZooKeeper ? await ZooKeeperServer.start({ port: zookeeperPort }) : undefined;
// The gateway binds its ports last: no Consul agent or instance started before it may take them.
reservePorts(gatewayPort, Number(values["admin-port"]));
const servers = onZooKeeper ? [] : values.cluster ? await ConsulAgent.startCluster(3, { firstHttpPort: consulPort }) : [await ConsulAgent.start({ httpPort: consulPort })];
/** The settings that point service-web and the gateway at the registry (all Consul servers for the gateway). */
const registryEnv = (consulServer: number | "all"): Record<string, string> =>
  zookeeper !== undefined
    ? { GATEWAY_REGISTRY: "zookeeper", ZOOKEEPER_CONNECT: zookeeper.connect }
    : { CONSUL_HTTP_ADDR: consulServer === "all" ? servers.map((server) => server.address).join(",") : servers[consulServer % servers.length]!.address };
const children: Started[] = [];
let stopping = false;

async function stopAll(code: number): Promise<never> {
  if (stopping) return new Promise(() => {});
  stopping = true;
  console.log(`demo: stopping the gateway, the instances and ${zookeeper ? "ZooKeeper" : "Consul"}`);
  await Promise.all(children.map((child) => child.stop()));
  await Promise.all(servers.map((server) => server.destroy()));
  await zookeeper?.destroy();
  console.log("demo: stopped, nothing left running");
  process.exit(code);
}
process.on("SIGINT", () => void stopAll(0));
process.on("SIGTERM", () => void stopAll(0));

try {
  for (let i = 1; i <= instances; i++) {
    const port = await freePort();
    const web = startTs("src/service-web/main.ts", [], {
      env: { ...process.env, ...registryEnv(i - 1), SERVICE_WEB_PORT: String(port), SERVICE_WEB_HOST: "127.0.0.1", SERVICE_WEB_ID: `service-web-${i}` },
    });
    children.push(web);
    relay(`service-web-${i}`, web);
    await web.waitForOutput(/registered in (Consul|ZooKeeper)/);
  }
  const gateway = startTs("src/main.ts", [], {
    env: {
      ...process.env,
      DEBUG: process.env.DEBUG ?? "gateway:routes,gateway:supervisor",
      ...registryEnv("all"),
      GATEWAY_PORT: String(gatewayPort),
      GATEWAY_ADMIN_PORT: values["admin-port"],
      GATEWAY_SERVICES: "service-web",
    },
  });
  children.push(gateway);
  relay("gateway", gateway);
  await gateway.waitForOutput(/listening on/);
  console.log(`
demo: ready. ${zookeeper ? `ZooKeeper at ${zookeeper.connect}` : `Consul UI: ${servers[0]!.url}/ui`}   pids: ${zookeeper ? `zookeeper ${zookeeper.pid}` : `consul ${servers.map((s) => s.pid).join(" ")}`}, ${children.map((c) => c.child.pid).join(" ")}
demo: try   curl localhost:${gatewayPort}/service-web/getRemoteIp
demo: dashboard http://127.0.0.1:${values["admin-port"]}/   route table: npm run routes -- --admin http://127.0.0.1:${values["admin-port"]}
demo: Ctrl-C stops everything.
`);
} catch (err) {
  console.error("demo: failed to start:", err);
  await stopAll(1);
}
