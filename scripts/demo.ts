/**
 * `npm run demo`: a real Consul agent, three self-registering service-web
 * instances and the gateway, as local processes. Ctrl-C stops everything.
 *
 * `npm run demo -- --cluster`: the topology of docker-compose.yml instead: three
 * Consul servers joined into one cluster, the instances registering through
 * them in turn (the part Registrator plays in Docker), and the gateway given
 * all three addresses.
 *
 * Flags: --gateway-port N (3000), --admin-port N (9901), --consul-port N (8500,
 * the first server's), --instances N (3), --cluster.
 */
import { parseArgs } from "node:util";
import { ConsulAgent } from "../test/support/consul.js";
import { freePort } from "../test/support/ports.js";
import { startTs, type Started } from "../test/support/processes.js";

const { values } = parseArgs({
  options: {
    "gateway-port": { type: "string", default: "3000" },
    "admin-port": { type: "string", default: "9901" },
    "consul-port": { type: "string", default: "8500" },
    instances: { type: "string", default: "3" },
    cluster: { type: "boolean", default: false },
  },
});
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
console.log(values.cluster ? `demo: starting a three-server Consul cluster, the first on 127.0.0.1:${consulPort}` : `demo: starting Consul on 127.0.0.1:${consulPort}`);
const servers = values.cluster ? await ConsulAgent.startCluster(3, { firstHttpPort: consulPort }) : [await ConsulAgent.start({ httpPort: consulPort })];
const consul = servers[0]!;
const children: Started[] = [];
let stopping = false;

async function stopAll(code: number): Promise<never> {
  if (stopping) return new Promise(() => {});
  stopping = true;
  console.log("demo: stopping the gateway, the instances and Consul");
  await Promise.all(children.map((child) => child.stop()));
  await Promise.all(servers.map((server) => server.destroy()));
  console.log("demo: stopped, nothing left running");
  process.exit(code);
}
process.on("SIGINT", () => void stopAll(0));
process.on("SIGTERM", () => void stopAll(0));

try {
  for (let i = 1; i <= instances; i++) {
    const port = await freePort();
    const web = startTs("src/service-web/main.ts", [], {
      env: { ...process.env, CONSUL_HTTP_ADDR: servers[(i - 1) % servers.length]!.address, SERVICE_WEB_PORT: String(port), SERVICE_WEB_HOST: "127.0.0.1", SERVICE_WEB_ID: `service-web-${i}` },
    });
    children.push(web);
    relay(`service-web-${i}`, web);
    await web.waitForOutput(/registered in Consul/);
  }
  const gateway = startTs("src/main.ts", [], {
    env: {
      ...process.env,
      DEBUG: process.env.DEBUG ?? "gateway:routes,gateway:supervisor",
      CONSUL_HTTP_ADDR: servers.map((server) => server.address).join(","),
      GATEWAY_PORT: String(gatewayPort),
      GATEWAY_ADMIN_PORT: values["admin-port"],
      GATEWAY_SERVICES: "service-web",
    },
  });
  children.push(gateway);
  relay("gateway", gateway);
  await gateway.waitForOutput(/listening on/);
  console.log(`
demo: ready. Consul UI: ${consul.url}/ui   pids: consul ${servers.map((s) => s.pid).join(" ")}, ${children.map((c) => c.child.pid).join(" ")}
demo: try   curl localhost:${gatewayPort}/service-web/getRemoteIp
demo: dashboard http://127.0.0.1:${values["admin-port"]}/   route table: npm run routes -- --admin http://127.0.0.1:${values["admin-port"]}
demo: Ctrl-C stops everything.
`);
} catch (err) {
  console.error("demo: failed to start:", err);
  await stopAll(1);
}
