/**
 * `koa-consul-gateway registrar ...`: registers the engine's running
 * containers in Consul, as Registrator did (see registrar.ts and
 * registration-rules.ts), until SIGTERM or SIGINT.
 */
import { lookup } from "node:dns/promises";
import { ConsulAgent } from "./consul-agent.js";
import { DockerSource } from "./docker-source.js";
import { parseRegistrarArgs, RegistrarOptionError, type RegistrarCommandLine } from "./options.js";
import { Registrar } from "./registrar.js";

/** External mode: the host's address for ports published on every address (Registrator resolved its hostname). */
async function hostAddress(cli: RegistrarCommandLine): Promise<string | undefined> {
  if (cli.ip !== undefined || cli.internal) return cli.ip;
  try {
    return (await lookup(cli.hostname)).address;
  } catch {
    return undefined;
  }
}

export async function runRegistrar(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  let cli: RegistrarCommandLine;
  try {
    cli = parseRegistrarArgs(argv, env);
  } catch (err) {
    if (err instanceof RegistrarOptionError) {
      console.error(`koa-consul-gateway registrar: invalid arguments: ${err.message}`);
      return 2;
    }
    throw err;
  }
  const consul = new ConsulAgent(cli.consul, cli.token);
  const registrar = new Registrar(new DockerSource(), consul, {
    hostname: cli.hostname,
    internal: cli.internal,
    hostIp: await hostAddress(cli),
    tags: cli.tags,
    explicit: cli.explicit,
    cleanup: cli.cleanup,
    resyncMs: cli.resyncMs,
    retryMs: cli.retryMs,
  });
  console.log(
    `koa-consul-gateway registrar: ${cli.internal ? "internal" : "published"} ports of ${env["DOCKER_HOST"] ?? "unix:///var/run/docker.sock"} → ${consul.url} as host ${cli.hostname}${cli.cleanup ? ", cleanup" : ""}, resync every ${cli.resyncMs / 1000} s`,
  );
  await registrar.start();
  return new Promise<number>((resolve) => {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      process.once(signal, () => {
        void registrar.stop().then(() => resolve(0));
      });
    }
  });
}
