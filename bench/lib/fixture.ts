/**
 * What every bench needs: a real Consul agent, the one backend registered in
 * it, and ways to start each target on loopback. The gateway runs from dist/
 * (`npm run build`), with its real watcher child, as users run it. Every
 * process is started through test/support/processes.ts, which kills what is
 * left when the bench process leaves, also on failure.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { request } from "undici";
import { ConsulAgent, type TestRegistration } from "../../test/support/consul.js";
import { freePort } from "../../test/support/ports.js";
import { start, startTs, type Started } from "../../test/support/processes.js";
import { eventually } from "../../test/support/wait.js";

export const REPO = resolve(import.meta.dirname, "../..");
export const SERVICE = "bench-backend";
/** The path every target is asked for: /<service>/<path>, as the gateway wants it. */
export const PATH = `/${SERVICE}/hello`;

export interface Running {
  name: string;
  url: string;
  /** The process that serves (the primary in cluster mode, nginx's master). */
  pid: number;
  process: Started;
  stop(): Promise<void>;
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await request(url);
    await res.body.dump();
    return res.statusCode === 200;
  } catch {
    return false;
  }
}

async function listeningPort(process: Started): Promise<number> {
  return Number((await process.waitForOutput(/listening (?:on 127\.0\.0\.1:)?(\d+)/, 30_000))[1]);
}

export async function ready(name: string, process: Started, port: number): Promise<Running> {
  const url = `http://127.0.0.1:${port}${PATH}`;
  await eventually(() => answers(url), 30_000, `${name} answering 200 on ${url} (output: ${process.output().slice(-500)})`);
  return { name, url, pid: process.child.pid!, process, stop: async () => void (await process.stop()) };
}

export async function startBackend(): Promise<Running> {
  const backend = startTs(join(REPO, "bench/peers/backend.ts"));
  return ready("direct", backend, await listeningPort(backend));
}

/**
 * An instance as every target can route it: the tag is Fabio's route (its
 * `urlprefix-` convention; the gateway and Traefik route by the name), and the
 * TTL check, passing from the start, is what Fabio needs to route at all (it
 * ignores instances without a passing check of their own), without any check
 * traffic during the load.
 */
export function benchRegistration(id: string, service: string, port: number): TestRegistration {
  return { ID: id, Name: service, Address: "127.0.0.1", Port: port, Tags: [`urlprefix-/${service}`], Check: { CheckID: `${id}-ttl`, TTL: "1h", Status: "passing" } };
}

export async function startConsulWithBackend(backendPort: number): Promise<ConsulAgent> {
  const consul = await ConsulAgent.start();
  await consul.register(benchRegistration(`${SERVICE}-1`, SERVICE, backendPort));
  return consul;
}

/** A node peer from bench/peers/, in front of the backend. */
export async function startPeer(name: string, file: string, backendPort: number): Promise<Running> {
  const peer = startTs(join(REPO, "bench/peers", file), [], { env: { ...process.env, BACKEND_PORT: String(backendPort) } });
  return ready(name, peer, await listeningPort(peer));
}

/** This gateway, compiled, against the real Consul agent; `workers` > 1 is cluster mode. */
export async function startGateway(
  name: string,
  consul: ConsulAgent,
  workers: number,
  /** readyWhenListening: do not wait for the bench backend's route (a Consul without it). */
  /** cpus: pins the gateway (and so its workers and watcher) to these CPUs with taskset. */
  /** dist: another build of the gateway (bench/compare.ts), dist/ by default. */
  extra: { env?: Record<string, string>; nodeArgs?: string[]; readyWhenListening?: boolean; node?: string; cpus?: string; dist?: string } = {},
): Promise<Running> {
  const port = await freePort();
  const command = [extra.node ?? process.execPath, ...(extra.nodeArgs ?? []), join(extra.dist ?? join(REPO, "dist"), "main.js")];
  // taskset execs the command: the pid stays the gateway's.
  const [program, ...args] = extra.cpus === undefined ? command : ["taskset", "-c", extra.cpus, ...command];
  const gateway = start(program!, args, {
    env: {
      ...process.env,
      CONSUL_HTTP_ADDR: consul.address,
      GATEWAY_HOST: "127.0.0.1",
      GATEWAY_PORT: String(port),
      GATEWAY_SERVICES: SERVICE,
      GATEWAY_WORKERS: String(workers),
      // Settings of main's admin server and warm-up (ignored before they exist): several gateways run
      // at once here, so no fixed admin port, and full traffic to the one instance from the start.
      GATEWAY_ADMIN_PORT: "0",
      GATEWAY_WARMUP_MS: "0",
      ...extra.env,
    },
  });
  if (extra.readyWhenListening) {
    await gateway.waitForOutput(/koa-consul-gateway listening on/, 30_000);
    return { name, url: `http://127.0.0.1:${port}${PATH}`, pid: gateway.child.pid!, process: gateway, stop: async () => void (await gateway.stop()) };
  }
  return ready(name, gateway, port);
}

/** nginx's TLS termination (HTTP/2 and HTTP/1.1 by ALPN) on a second port, beside the plain one. */
export interface NginxTls {
  certFile: string;
  keyFile: string;
}

/**
 * nginx from Debian as a reverse proxy with upstream keep-alive, in a
 * temporary prefix; with `tls`, it also terminates TLS on `httpsUrl`'s port.
 */
export async function startNginx(name: string, workers: number, backendPort: number, tls?: NginxTls): Promise<Running & { httpsUrl?: string }> {
  const prefix = mkdtempSync(join(tmpdir(), "kcg-nginx-"));
  const port = await freePort();
  const httpsPort = tls === undefined ? undefined : await freePort();
  const conf = join(prefix, "nginx.conf");
  const tlsServer =
    tls === undefined
      ? ""
      : `
    listen 127.0.0.1:${httpsPort} ssl http2;
    ssl_certificate ${tls.certFile};
    ssl_certificate_key ${tls.keyFile};
    ssl_protocols TLSv1.2 TLSv1.3;
    http2_max_requests 1000000;`;
  const tlsLocation = tls === undefined ? "" : `
      proxy_set_header X-Forwarded-Proto $scheme;`;
  writeFileSync(
    conf,
    `worker_processes ${workers};
daemon off;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body; proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi; uwsgi_temp_path ${prefix}/uwsgi; scgi_temp_path ${prefix}/scgi;
  keepalive_requests 1000000;
  upstream backend { server 127.0.0.1:${backendPort}; keepalive 128; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:${port};${tlsServer}
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;${tlsLocation}
    }
  }
}
`,
  );
  const binary = nginxBinary();
  if (binary === undefined) throw new Error("nginx is not installed (bench/ensure-tools.sh installs it from Debian)");
  const nginx = start(binary, ["-e", join(prefix, "error.log"), "-p", prefix, "-c", conf]);
  const running = await ready(name, nginx, port);
  return {
    ...running,
    ...(httpsPort === undefined ? {} : { httpsUrl: `https://127.0.0.1:${httpsPort}${PATH}` }),
    stop: async () => {
      await nginx.stop();
      rmSync(prefix, { recursive: true, force: true });
    },
  };
}

/** Debian puts nginx in /usr/sbin, which is not on every PATH; undefined when it is not installed. */
export function nginxBinary(): string | undefined {
  for (const candidate of ["/usr/sbin/nginx", "/usr/bin/nginx"]) if (existsSync(candidate)) return candidate;
  return spawnSync("nginx", ["-v"]).error === undefined ? "nginx" : undefined;
}
