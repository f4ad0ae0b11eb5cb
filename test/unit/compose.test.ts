// The Docker deployment, checked without a Docker engine.
//
// docker-compose.yml is parsed with `yaml` and every fact that the deployment
// depends on is asserted on it; the same facts are asserted again on the output
// of `docker-compose config` (Compose's own validation and normalisation) when
// that binary is on PATH. The Dockerfiles that the compose file builds are read
// too: stages, base images, user, healthcheck, entry point, and whether every
// file they COPY exists and passes .dockerignore.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { loadConfig } from '../../src/config.js';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'yaml';

const root = fileURLToPath(new URL('../..', import.meta.url));
const composeFile = join(root, 'docker-compose.yml');

type Rec = Record<string, unknown>;
type Compose = { services: Record<string, Rec> };

// ---------------------------------------------------------------------------
// Reading the compose model, in both its short (as written) and long
// (as `docker-compose config` prints it) forms.

function isRec(v: unknown): v is Rec {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function asCompose(doc: unknown, origin: string): Compose {
  assert.ok(isRec(doc), `${origin}: top level is not a mapping`);
  const services = doc['services'];
  assert.ok(isRec(services), `${origin}: no services mapping`);
  const out: Record<string, Rec> = {};
  for (const [name, svc] of Object.entries(services)) {
    assert.ok(isRec(svc), `${origin}: service ${name} is not a mapping`);
    out[name] = svc;
  }
  return { services: out };
}

function service(c: Compose, name: string): Rec {
  const svc = c.services[name];
  assert.ok(svc, `no service named ${name}; services: ${Object.keys(c.services).join(', ')}`);
  return svc;
}

/** A list or a mapping of KEY=value pairs (environment, labels) as a mapping. */
function keyValues(v: unknown): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (Array.isArray(v)) {
    const out: Record<string, string> = {};
    for (const item of v) {
      const s = String(item);
      const eq = s.indexOf('=');
      if (eq > 0) out[s.slice(0, eq)] = s.slice(eq + 1);
    }
    return out;
  }
  assert.ok(isRec(v), 'expected a list or a mapping');
  return Object.fromEntries(Object.entries(v).map(([k, val]) => [k, val === null ? '' : String(val)]));
}

const env = (svc: Rec) => keyValues(svc['environment']);
const labels = (svc: Rec) => keyValues(svc['labels']);

function args(svc: Rec): string[] {
  const cmd = svc['command'];
  if (cmd === undefined) return [];
  if (typeof cmd === 'string') return cmd.trim().split(/\s+/);
  assert.ok(Array.isArray(cmd), 'command is neither a string nor a list');
  return cmd.map(String);
}

/** Values of a Go-style flag given as `-name=value`, `--name=value` or `-name value`. */
function flagValues(argv: readonly string[], name: string): string[] {
  const out: string[] = [];
  argv.forEach((a, i) => {
    const m = /^--?([^=]+)(?:=(.*))?$/.exec(a);
    if (!m || m[1] !== name) return;
    const value = m[2] ?? argv[i + 1];
    if (value !== undefined) out.push(value);
  });
  return out;
}

interface PortMapping { host: string | undefined; container: string }

function ports(svc: Rec): PortMapping[] {
  const list = svc['ports'];
  if (list === undefined) return [];
  assert.ok(Array.isArray(list), 'ports is not a list');
  return list.map((p): PortMapping => {
    if (isRec(p)) {
      const published = p['published'];
      return { host: published === undefined ? undefined : String(published), container: String(p['target']) };
    }
    // A host port written as ${VAR:-default} is read as its default, as compose does with VAR unset.
    const parts = String(p).replace(/\$\{\w+:-([^}]*)\}/g, '$1').replace(/\/(tcp|udp)$/, '').split(':');
    const container = parts.pop() ?? '';
    const host = parts.pop();
    return { host: host === '' ? undefined : host, container };
  });
}

interface Mount { source: string; target: string; readOnly: boolean }

function volumes(svc: Rec): Mount[] {
  const list = svc['volumes'];
  if (list === undefined) return [];
  assert.ok(Array.isArray(list), 'volumes is not a list');
  return list.map((v): Mount => {
    if (isRec(v)) {
      return { source: String(v['source']), target: String(v['target']), readOnly: v['read_only'] === true };
    }
    const [source = '', target = '', mode = ''] = String(v).split(':');
    return { source, target, readOnly: mode.split(',').includes('ro') };
  });
}

/** depends_on as service → condition (the list form means service_started). */
function dependsOn(svc: Rec): Record<string, string> {
  const d = svc['depends_on'];
  if (d === undefined) return {};
  if (Array.isArray(d)) return Object.fromEntries(d.map((n) => [String(n), 'service_started']));
  assert.ok(isRec(d), 'depends_on is neither a list nor a mapping');
  return Object.fromEntries(
    Object.entries(d).map(([n, v]) => [n, isRec(v) && typeof v['condition'] === 'string' ? v['condition'] : 'service_started']),
  );
}

function buildOf(svc: Rec): { context: string; dockerfile: string } | undefined {
  const b = svc['build'];
  if (b === undefined) return undefined;
  if (typeof b === 'string') return { context: resolve(root, b), dockerfile: join(resolve(root, b), 'Dockerfile') };
  assert.ok(isRec(b), 'build is neither a string nor a mapping');
  const context = resolve(root, String(b['context'] ?? '.'));
  return { context, dockerfile: resolve(context, String(b['dockerfile'] ?? 'Dockerfile')) };
}

const consulServers = (c: Compose) =>
  Object.keys(c.services).filter((n) => String(service(c, n)['image'] ?? '').startsWith('hashicorp/consul:'));

/** Services that run `koa-consul-gateway registrar` (the gateway's image with the registrar subcommand). */
const registrars = (c: Compose) => Object.keys(c.services).filter((n) => args(service(c, n))[0] === 'registrar');

/** `host:port` or `scheme://host:port` → [host, port]. */
function hostPort(addr: string): [string, string] {
  const u = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(addr) ? addr : `http://${addr}`);
  return [u.hostname, u.port];
}

// ---------------------------------------------------------------------------
// Reading a Dockerfile: instructions after joining continuation lines.

interface Instruction { keyword: string; rest: string }
interface Stage { from: string; name: string | undefined; instructions: Instruction[] }

function readDockerfile(path: string): { args: Record<string, string>; stages: Stage[] } {
  const lines = readFileSync(path, 'utf8').split('\n');
  const logical: string[] = [];
  let current = '';
  for (const raw of lines) {
    const line = raw.trim();
    if (current === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue; // comment inside a continued instruction
    if (line.endsWith('\\')) { current += line.slice(0, -1) + ' '; continue; }
    logical.push(current + line);
    current = '';
  }
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const l of logical) {
    const m = /^(\S+)\s*(.*)$/.exec(l);
    if (!m) continue;
    const keyword = (m[1] ?? '').toUpperCase();
    const rest = m[2] ?? '';
    if (keyword === 'FROM') {
      const f = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      assert.ok(f?.[1], `${path}: cannot read FROM ${rest}`);
      const from = f[1].replace(/\$\{?(\w+)\}?/g, (_, n: string) => globalArgs[n] ?? `<unset ${n}>`);
      stages.push({ from, name: f[2], instructions: [] });
    } else if (stages.length === 0) {
      if (keyword === 'ARG') {
        const a = /^(\w+)(?:=(\S*))?/.exec(rest);
        if (a?.[1]) globalArgs[a[1]] = a[2] ?? '';
      }
    } else {
      stages[stages.length - 1]?.instructions.push({ keyword, rest });
    }
  }
  return { args: globalArgs, stages };
}

const all = (s: Stage, keyword: string) => s.instructions.filter((i) => i.keyword === keyword);
const last = <T>(xs: readonly T[]): T | undefined => xs[xs.length - 1];

/** The exec-form argv of CMD/ENTRYPOINT/HEALTHCHECK CMD, or undefined for the shell form. */
function execForm(rest: string): string[] | undefined {
  const json = rest.slice(rest.indexOf('['));
  if (!rest.includes('[')) return undefined;
  try {
    const v: unknown = JSON.parse(json);
    return Array.isArray(v) ? v.map(String) : undefined;
  } catch {
    return undefined;
  }
}

/** The process a container runs: ENTRYPOINT then CMD, both exec form; undefined when either is the shell form. */
function programOf(stage: Stage): string[] | undefined {
  const entry = last(all(stage, 'ENTRYPOINT'));
  const cmd = last(all(stage, 'CMD'));
  const entryArgv = entry ? execForm(entry.rest) : [];
  const cmdArgv = cmd ? execForm(cmd.rest) : [];
  if (!entryArgv || !cmdArgv) return undefined;
  const argv = [...entryArgv, ...cmdArgv];
  return argv.length > 0 ? argv : undefined;
}

// ---------------------------------------------------------------------------
// .dockerignore, with Docker's rules: patterns in order, the last one that
// matches a path or one of its parent folders decides, `!` re-includes.

function dockerignore(context: string): (path: string) => boolean {
  const file = join(context, '.dockerignore');
  const patterns = existsSync(file)
    ? readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'))
    : [];
  const rules = patterns.map((p) => {
    const negate = p.startsWith('!');
    const body = (negate ? p.slice(1) : p).replace(/^\/+/, '').replace(/\/+$/, '');
    let re = '';
    for (let i = 0; i < body.length; i++) {
      const ch = body.charAt(i);
      if (ch === '*' && body[i + 1] === '*') {
        re += body[i + 2] === '/' ? '(?:.*/)?' : '.*';
        i += body[i + 2] === '/' ? 2 : 1;
      } else if (ch === '*') re += '[^/]*';
      else if (ch === '?') re += '[^/]';
      else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
    return { negate, re: new RegExp(`^${re}$`) };
  });
  return (path: string) => {
    const parts = path.split('/');
    const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
    let excluded = false;
    for (const r of rules) if (candidates.some((c) => r.re.test(c))) excluded = !r.negate;
    return !excluded;
  };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)],
  );
}

// ---------------------------------------------------------------------------
// The facts. Each one is a property the deployment needs; each fails when the
// compose file or a Dockerfile loses it.

const facts: Array<[string, (c: Compose) => void]> = [
  ['three Consul servers form one cluster with -bootstrap-expect=3 and -retry-join', (c) => {
    const servers = consulServers(c);
    assert.equal(servers.length, 3, `Consul servers: ${servers.join(', ')}`);
    for (const name of servers) {
      const argv = args(service(c, name));
      assert.equal(argv[0], 'agent', `${name}: command must start with agent`);
      assert.ok(argv.includes('-server'), `${name}: not started with -server`);
      assert.deepEqual(flagValues(argv, 'bootstrap-expect'), ['3'], `${name}: -bootstrap-expect`);
      const joins = flagValues(argv, 'retry-join').map((j) => hostPort(j)[0]);
      for (const other of servers.filter((s) => s !== name)) {
        assert.ok(joins.includes(other), `${name}: no -retry-join=${other} (has ${joins.join(', ')})`);
      }
    }
  }],
  ['Consul runs hashicorp/consul 1.22', (c) => {
    for (const name of consulServers(c)) {
      assert.match(String(service(c, name)['image']), /^hashicorp\/consul:1\.22(\.\d+)?$/, name);
    }
  }],
  ['exactly one Consul server serves the UI, on host port 8500', (c) => {
    const withUi = consulServers(c).filter((n) => args(service(c, n)).includes('-ui'));
    assert.equal(withUi.length, 1, `servers with -ui: ${withUi.join(', ')}`);
    const ui = withUi[0] ?? '';
    assert.ok(flagValues(args(service(c, ui)), 'client').includes('0.0.0.0'), `${ui}: HTTP API not bound with -client=0.0.0.0`);
    assert.ok(ports(service(c, ui)).some((p) => p.host === '8500' && p.container === '8500'), `${ui}: 8500 not published`);
  }],
  ['every Consul server listens for clients on its container address', (c) => {
    for (const name of consulServers(c)) {
      assert.ok(flagValues(args(service(c, name)), 'client').includes('0.0.0.0'), `${name}: no -client=0.0.0.0`);
    }
  }],
  ['a Consul server is healthy only once it sees a Raft leader', (c) => {
    for (const name of consulServers(c)) {
      const hc = service(c, name)['healthcheck'];
      assert.ok(isRec(hc), `${name}: no healthcheck`);
      const testCmd = ([] as unknown[]).concat(hc['test']).map(String).join(' ');
      // list-peers exits non-zero without a leader; /v1/status/leader answers "" then, so it needs a content check.
      assert.match(testCmd, /consul operator raft list-peers|\/v1\/status\/leader.*\|\s*grep/, `${name}: ${testCmd}`);
    }
  }],
  ['the registrar registers containers by internal address in a Consul server of this file', (c) => {
    const regs = registrars(c);
    assert.equal(regs.length, 1, `registrar services: ${regs.join(', ')}`);
    const argv = args(service(c, regs[0] ?? ''));
    assert.ok(argv.includes('-internal'), 'the registrar without -internal registers host ports, which serviceweb does not publish');
    assert.ok(argv.includes('-cleanup'), 'without -cleanup, registrations of containers removed while the registrar was away stay');
    const uri = last(argv) ?? '';
    assert.match(uri, /^consul:\/\//, `the registry URI must be the last argument (options come first): ${argv.join(' ')}`);
    const [host, port] = hostPort(uri.replace(/^consul:/, 'http:'));
    assert.ok(consulServers(c).includes(host), `the registrar points at ${host}, not a Consul server`);
    assert.equal(port, '8500');
  }],
  ['the registrar reads the Docker socket through a read-only mount, where dockerode looks for it', (c) => {
    const reg = service(c, registrars(c)[0] ?? '');
    const mounts = volumes(reg);
    const sock = mounts.find((m) => m.source === '/var/run/docker.sock');
    assert.ok(sock, 'the Docker socket is not mounted');
    const dockerHost = env(reg)['DOCKER_HOST'];
    assert.equal(sock.target, dockerHost ? dockerHost.replace(/^unix:\/\//, '') : '/var/run/docker.sock', 'the socket is not where the registrar reads it');
    assert.ok(sock.readOnly, 'the socket mount is not read-only');
    assert.match(String(reg['user'] ?? ''), /^(0|root)(:0|:root)?$/, 'the Docker socket is readable by root only');
  }],
  ['the registrar runs from the gateway\'s image, without its HTTP healthcheck', (c) => {
    const reg = service(c, registrars(c)[0] ?? '');
    assert.deepEqual(buildOf(reg), buildOf(service(c, 'gateway')), 'not built like the gateway');
    const hc = reg['healthcheck'];
    // `docker-compose config` writes `disable: true` as `test: [NONE]`.
    const disabled = isRec(hc) && (hc['disable'] === true || ([] as unknown[]).concat(hc['test'])[0] === 'NONE');
    assert.ok(disabled, 'the image healthcheck asks the gateway port, which the registrar does not open');
  }],
  ['the registrar starts once its Consul server has a leader', (c) => {
    const reg = service(c, registrars(c)[0] ?? '');
    const target = hostPort((last(args(reg)) ?? '').replace(/^consul:/, 'http:'))[0];
    assert.equal(dependsOn(reg)[target], 'service_healthy');
  }],
  ['serviceweb is registered by the registrar as service-web with an HTTP check', (c) => {
    const e = env(service(c, 'serviceweb'));
    assert.equal(e['SERVICE_3000_NAME'], 'service-web');
    assert.equal(e['SERVICE_3000_CHECK_HTTP'], '/health');
    assert.match(e['SERVICE_3000_CHECK_INTERVAL'] ?? '', /^\d+(ms|s|m)$/, 'SERVICE_3000_CHECK_INTERVAL');
    assert.equal(e['SERVICE_WEB_PORT'] ?? '3000', '3000', 'SERVICE_3000_* names port 3000');
    assert.equal(e['CONSUL_HTTP_ADDR'], undefined, 'with CONSUL_HTTP_ADDR serviceweb registers itself besides the registrar');
    assert.equal({ ...labels(service(c, 'serviceweb')), ...e }['SERVICE_IGNORE'], undefined);
  }],
  ['serviceweb exposes port 3000 for the registrar -internal', (c) => {
    const svc = service(c, 'serviceweb');
    const exposed = Array.isArray(svc['expose']) ? svc['expose'].map((p) => String(p).replace(/\/tcp$/, '')) : [];
    const b = buildOf(svc);
    const fromImage = b ? readDockerfile(b.dockerfile).stages.flatMap((s) => all(s, 'EXPOSE')).some((i) => i.rest.split(/\s+/).includes('3000')) : false;
    assert.ok(exposed.includes('3000') || fromImage, 'port 3000 is not exposed');
  }],
  ['serviceweb scales: no fixed host port, no container name', (c) => {
    const svc = service(c, 'serviceweb');
    assert.deepEqual(ports(svc).filter((p) => p.host !== undefined), [], 'a fixed host port allows one instance only');
    assert.equal(svc['container_name'], undefined, 'container_name allows one instance only');
  }],
  ['the gateway publishes port 3000 and restarts unless stopped', (c) => {
    const gw = service(c, 'gateway');
    const port = env(gw)['GATEWAY_PORT'] ?? '3000';
    assert.ok(ports(gw).some((p) => p.host === '3000' && p.container === port), `3000 → ${port} not published`);
    assert.equal(gw['restart'], 'unless-stopped');
  }],
  ["the gateway's Consul addresses are this file's Consul servers", (c) => {
    const addrs = (env(service(c, 'gateway'))['CONSUL_HTTP_ADDR'] ?? '').split(',').map((a) => a.trim()).filter(Boolean);
    const servers = consulServers(c);
    for (const a of addrs) {
      const [host, port] = hostPort(a);
      assert.ok(servers.includes(host), `${a}: ${host} is not a Consul server service`);
      assert.equal(port, '8500', a);
    }
    assert.deepEqual([...new Set(addrs.map((a) => hostPort(a)[0]))].sort(), [...servers].sort(), 'fail-over list must name every server');
  }],
  ['the gateway watches the name serviceweb registers under', (c) => {
    const watched = (env(service(c, 'gateway'))['GATEWAY_SERVICES'] ?? '').split(',').map((s) => s.trim());
    assert.ok(watched.includes(env(service(c, 'serviceweb'))['SERVICE_3000_NAME'] ?? '<unset>'), `GATEWAY_SERVICES=${watched.join(',')}`);
  }],
  ['the gateway gives up a connection in time to retry the request within its retry deadline', (c) => {
    // A stopped instance's address can vanish before its deregistration reaches the routes; a connection
    // to it is then left unanswered until the connect timeout (GATEWAY_CONNECT_TIMEOUT_MS, bounded by the upstream timeout).
    const e = env(service(c, 'gateway'));
    const connectMs = Math.min(loadConfig(e).connectTimeoutMs, loadConfig(e).upstreamTimeoutMs);
    const deadlineMs = Number(e['GATEWAY_RETRY_DEADLINE_MS'] ?? '10000');
    assert.ok(connectMs < deadlineMs, `connect timeout ${connectMs} ms leaves no retry within GATEWAY_RETRY_DEADLINE_MS ${deadlineMs} ms`);
  }],
  ['the gateway starts once every Consul server is healthy', (c) => {
    const deps = dependsOn(service(c, 'gateway'));
    for (const s of consulServers(c)) assert.equal(deps[s], 'service_healthy', `gateway → ${s}`);
  }],
  ['every service_healthy dependency has a healthcheck', (c) => {
    for (const [name, svc] of Object.entries(c.services)) {
      for (const [dep, cond] of Object.entries(dependsOn(svc))) {
        const target = service(c, dep);
        if (cond !== 'service_healthy') continue;
        const hc = target['healthcheck'];
        const b = buildOf(target);
        const inImage = b ? readDockerfile(b.dockerfile).stages.some((s) => all(s, 'HEALTHCHECK').length > 0) : false;
        assert.ok((isRec(hc) && hc['disable'] !== true) || inImage, `${name} waits for ${dep} to be healthy, which has no healthcheck`);
      }
    }
  }],
  ['the registrar ignores every container but serviceweb', (c) => {
    for (const [name, svc] of Object.entries(c.services)) {
      if (name === 'serviceweb') continue;
      assert.equal({ ...labels(svc), ...env(svc) }['SERVICE_IGNORE'], 'true', `${name} would be registered by the registrar`);
    }
  }],
  ['gateway and serviceweb run under an init that forwards SIGTERM', (c) => {
    for (const name of ['gateway', 'serviceweb', ...registrars(c)]) assert.equal(service(c, name)['init'], true, name);
  }],
  ['every service is built from this repository or runs a pinned public image', (c) => {
    for (const [name, svc] of Object.entries(c.services)) {
      const b = buildOf(svc);
      if (b) {
        assert.ok(existsSync(b.context) && statSync(b.context).isDirectory(), `${name}: build context ${b.context} missing`);
        assert.ok(existsSync(b.dockerfile), `${name}: ${b.dockerfile} missing`);
        assert.equal(relative(root, b.dockerfile).split('/')[0], 'docker', `${name}: Dockerfiles live in docker/`);
      } else {
        const image = String(svc['image'] ?? '');
        assert.match(image, /^hashicorp\/consul:[\w.-]+$/, `${name}: unknown or untagged image ${image}`);
        assert.doesNotMatch(image, /:latest$/, `${name}: pin a version, not latest`);
      }
      for (const dep of Object.keys(dependsOn(svc))) assert.ok(c.services[dep], `${name} depends on unknown ${dep}`);
    }
  }],
];

// Dockerfile facts, for each Dockerfile a service builds.
const dockerfileFacts: Array<[string, (d: ReturnType<typeof readDockerfile>, path: string) => void]> = [
  ['multi-stage: compiled in a build stage, production dependencies only at run time', (d) => {
    assert.ok(d.stages.length >= 2, 'one stage only');
    const runtime = last(d.stages);
    assert.ok(runtime);
    const runs = (s: Stage) => all(s, 'RUN').map((i) => i.rest).join(' && ');
    assert.ok(d.stages.some((s) => /\bnpm ci\b(?![^&]*--omit=dev)/.test(runs(s)) && /\bnpm run build\b/.test(runs(s))), 'no stage runs npm ci and npm run build');
    assert.doesNotMatch(runs(runtime), /npm run build|npm (ci|install)\b(?![^&]*--omit=dev)/, 'runtime stage builds or installs dev dependencies');
    const names = d.stages.map((s) => s.name);
    const copies = all(runtime, 'COPY').map((i) => /--from=(\S+)/.exec(i.rest)).filter((m) => m !== null);
    for (const m of copies) assert.ok(names.includes(m[1]), `COPY --from=${m[1]}: no such stage`);
    const nm = all(runtime, 'COPY').find((i) => /node_modules/.test(i.rest));
    const from = nm ? /--from=(\S+)/.exec(nm.rest)?.[1] : undefined;
    const source = d.stages.find((s) => s.name === from);
    assert.ok(source && /npm ci\b[^&]*--omit=dev/.test(runs(source)), 'runtime node_modules do not come from npm ci --omit=dev');
    assert.ok(all(runtime, 'COPY').some((i) => /\bpackage\.json\b/.test(i.rest)), 'package.json ("type": "module") missing at run time');
  }],
  ['base images are Node 24 LTS', (d) => {
    const names = new Set(d.stages.map((s) => s.name));
    for (const s of d.stages) {
      if (names.has(s.from)) continue;
      assert.match(s.from, /^node:24(\.\d+){0,2}-(bookworm|trixie)-slim$/, s.from);
    }
  }],
  ['runs as a non-root user with NODE_ENV=production', (d) => {
    const runtime = last(d.stages);
    assert.ok(runtime);
    // The base image's user node, by name or by its uid:gid 1000:1000.
    assert.match(last(all(runtime, 'USER'))?.rest ?? 'root', /^(node(:node)?|1000(:1000)?)$/, 'runtime stage runs as root');
    assert.ok(all(runtime, 'ENV').some((i) => /\bNODE_ENV=production\b/.test(i.rest)), 'NODE_ENV=production not set');
  }],
  ['has a HEALTHCHECK, EXPOSE 3000, STOPSIGNAL SIGTERM and node in exec form as its process', (d) => {
    const runtime = last(d.stages);
    assert.ok(runtime);
    const hc = last(all(runtime, 'HEALTHCHECK'));
    assert.ok(hc && /\bCMD\b/.test(hc.rest), 'no HEALTHCHECK CMD');
    assert.ok(all(runtime, 'EXPOSE').some((i) => i.rest.split(/\s+/).includes('3000')), 'no EXPOSE 3000');
    assert.equal(last(all(runtime, 'STOPSIGNAL'))?.rest, 'SIGTERM');
    const cmd = programOf(runtime);
    assert.ok(cmd, 'ENTRYPOINT or CMD must be exec form so that node receives SIGTERM');
    assert.equal(cmd[0], 'node');
  }],
  ['the entry point is compiled from a source file in src/', (d, path) => {
    const cmd = programOf(last(d.stages) ?? { from: '', name: undefined, instructions: [] }) ?? [];
    const entry = cmd[1] ?? '';
    assert.match(entry, /^dist\/.+\.js$/, `${path}: ${entry}`);
    const source = join(root, entry.replace(/^dist\//, 'src/').replace(/\.js$/, '.ts'));
    assert.ok(existsSync(source), `${entry} has no source ${relative(root, source)}`);
  }],
  ['every COPY source exists and passes .dockerignore', (d) => {
    const included = dockerignore(root);
    for (const s of d.stages) {
      for (const i of all(s, 'COPY')) {
        if (/--from=/.test(i.rest)) continue;
        const parts = i.rest.split(/\s+/).filter((p) => !p.startsWith('--'));
        for (const src of parts.slice(0, -1)) {
          const abs = join(root, src);
          assert.ok(existsSync(abs), `COPY ${src}: not in the repository`);
          if (statSync(abs).isDirectory()) {
            assert.ok(filesUnder(abs).some((f) => included(relative(root, f))), `COPY ${src}: every file excluded by .dockerignore`);
          } else {
            assert.ok(included(src), `COPY ${src}: excluded by .dockerignore`);
          }
        }
      }
    }
  }],
];

// ---------------------------------------------------------------------------

const written = (): Compose => asCompose(parse(readFileSync(composeFile, 'utf8'), { merge: true }), 'docker-compose.yml');

for (const [name, check] of facts) {
  test(`compose: ${name}`, () => check(written()));
}

test('compose: host ports move with GATEWAY_HOST_PORT, CONSUL_HOST_PORT and ADMIN_HOST_PORT, with the usual defaults', () => {
  const text = readFileSync(composeFile, 'utf8');
  for (const expr of ['${GATEWAY_HOST_PORT:-3000}:', '${CONSUL_HOST_PORT:-8500}:', '127.0.0.1:${ADMIN_HOST_PORT:-9901}:']) {
    assert.ok(text.includes(expr), `docker-compose.yml has no port mapping ${expr}`);
  }
});

test('compose: no gliderlabs/registrator (unmaintained; its schema 1 images no longer pull)', () => {
  assert.doesNotMatch(readFileSync(composeFile, 'utf8'), /gliderlabs\/registrator/);
});

test('.dockerignore keeps node_modules, dist, .git and test artifacts out of the build context', () => {
  const included = dockerignore(root);
  for (const p of ['node_modules/koa/package.json', 'dist/main.js', '.git/HEAD', 'test-artifacts/x.log', '.env', 'npm-debug.log']) {
    assert.equal(included(p), false, p);
  }
  for (const p of ['package.json', 'package-lock.json', 'tsconfig.build.json', 'src/main.ts']) assert.equal(included(p), true, p);
});

for (const svcName of ['gateway', 'serviceweb']) {
  for (const [name, check] of dockerfileFacts) {
    test(`${svcName} Dockerfile: ${name}`, () => {
      const b = buildOf(service(written(), svcName));
      assert.ok(b, `${svcName} is not built`);
      check(readDockerfile(b.dockerfile), relative(root, b.dockerfile));
    });
  }
}

const haveCompose = spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).error === undefined;

test(
  'docker-compose config accepts the file and its normalised form keeps every fact',
  { skip: haveCompose ? false : 'docker-compose is not on PATH (Debian: apt-get install docker-compose)' },
  async (t) => {
    const { stdout } = await promisify(execFile)('docker-compose', ['-f', composeFile, 'config'], {
      cwd: root,
      env: { ...process.env, COMPOSE_PROJECT_NAME: 'kcg-check' },
    });
    const normalised = asCompose(parse(stdout), 'docker-compose config');
    for (const [name, check] of facts) await t.test(name, () => check(normalised));
  },
);
