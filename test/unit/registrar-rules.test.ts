// The registrar's label rules (src/registrar/registration-rules.ts), as a table:
// Registrator's documented behaviour first, then hostile labels and environments.
import { test } from "node:test";
import assert from "node:assert/strict";
import { imageBaseName, MAX_TAGS, registrationsFor, type ContainerView, type RuleOptions } from "../../src/registrar/registration-rules.js";
import { containerView, parsePortKey } from "../../src/registrar/docker-source.js";
import type Docker from "dockerode";

const internal: RuleOptions = { hostname: "host1", internal: true, hostIp: undefined, tags: [], explicit: false };
const external: RuleOptions = { ...internal, internal: false, hostIp: "192.0.2.10" };

function container(over: Partial<ContainerView> = {}): ContainerView {
  return {
    id: "c0ffee",
    name: "app_web_1",
    image: "registry.example:5000/team/web:1.2",
    env: [],
    labels: {},
    ports: [{ port: 3000, protocol: "tcp" }],
    ip: "10.88.0.7",
    ...over,
  };
}

interface Row {
  what: string;
  container: Partial<ContainerView>;
  options?: RuleOptions;
  /** Expected registrations, as "ID name address:port [tags]". */
  expect: string[];
  /** Each expected problem matches one reported problem. */
  problems?: RegExp[];
}

const rows: Row[] = [
  { what: "default name is the image's base name; ID is host:container:port", container: {}, expect: ["host1:app_web_1:3000 web 10.88.0.7:3000 []"] },
  { what: "SERVICE_NAME from the environment", container: { env: ["SERVICE_NAME=api"] }, expect: ["host1:app_web_1:3000 api 10.88.0.7:3000 []"] },
  { what: "a label wins over the environment", container: { env: ["SERVICE_NAME=fromenv"], labels: { SERVICE_NAME: "fromlabel" } }, expect: ["host1:app_web_1:3000 fromlabel 10.88.0.7:3000 []"] },
  { what: "SERVICE_<port>_NAME wins over SERVICE_NAME", container: { env: ["SERVICE_NAME=general", "SERVICE_3000_NAME=specific"] }, expect: ["host1:app_web_1:3000 specific 10.88.0.7:3000 []"] },
  { what: "an empty SERVICE_NAME counts as absent", container: { env: ["SERVICE_NAME="] }, expect: ["host1:app_web_1:3000 web 10.88.0.7:3000 []"] },
  { what: "SERVICE_TAGS, trimmed, without empty or repeated tags", container: { env: ["SERVICE_TAGS= a, b,,a ,c"] }, expect: ["host1:app_web_1:3000 web 10.88.0.7:3000 [a,b,c]"] },
  { what: "-tags are added to every registration", container: { env: ["SERVICE_TAGS=a"] }, options: { ...internal, tags: ["forced"] }, expect: ["host1:app_web_1:3000 web 10.88.0.7:3000 [a,forced]"] },
  { what: "SERVICE_<port>_TAGS for one port", container: { env: ["SERVICE_TAGS=all", "SERVICE_3000_TAGS=one"] }, expect: ["host1:app_web_1:3000 web 10.88.0.7:3000 [one]"] },
  { what: "SERVICE_IGNORE leaves the container out", container: { labels: { SERVICE_IGNORE: "true" } }, expect: [] },
  { what: "SERVICE_IGNORE with any non-empty value (Registrator's rule)", container: { env: ["SERVICE_IGNORE=0"] }, expect: [] },
  { what: "SERVICE_<port>_IGNORE leaves one port out", container: { ports: [{ port: 80, protocol: "tcp" }, { port: 443, protocol: "tcp" }], env: ["SERVICE_443_IGNORE=1"] }, expect: ["host1:app_web_1:80 web-80 10.88.0.7:80 []"] },
  { what: "several ports: the default name gets -<port>", container: { ports: [{ port: 80, protocol: "tcp" }, { port: 443, protocol: "tcp" }] }, expect: ["host1:app_web_1:80 web-80 10.88.0.7:80 []", "host1:app_web_1:443 web-443 10.88.0.7:443 []"] },
  { what: "several ports and SERVICE_NAME: one name for both (Registrator's rule)", container: { ports: [{ port: 80, protocol: "tcp" }, { port: 443, protocol: "tcp" }], env: ["SERVICE_NAME=site"] }, expect: ["host1:app_web_1:80 site 10.88.0.7:80 []", "host1:app_web_1:443 site 10.88.0.7:443 []"] },
  { what: "a UDP port: ID suffix :udp and tag udp", container: { ports: [{ port: 53, protocol: "udp" }] }, expect: ["host1:app_web_1:53:udp web 10.88.0.7:53 [udp]"] },
  { what: "SERVICE_ID overrides the ID", container: { env: ["SERVICE_ID=custom-1"] }, expect: ["custom-1 web 10.88.0.7:3000 []"] },
  { what: "external mode: only published ports, at the host address", container: { ports: [{ port: 3000, protocol: "tcp", hostIp: "0.0.0.0", hostPort: 32768 }, { port: 9000, protocol: "tcp" }] }, options: external, expect: ["host1:app_web_1:3000 web-3000 192.0.2.10:32768 []"] },
  { what: "external mode: a binding to one IP is registered at that IP", container: { ports: [{ port: 3000, protocol: "tcp", hostIp: "127.0.0.1", hostPort: 8080 }] }, options: external, expect: ["host1:app_web_1:3000 web 127.0.0.1:8080 []"] },
  { what: "-explicit: a container without SERVICE_NAME is left out", container: {}, options: { ...internal, explicit: true }, expect: [] },
  { what: "-explicit: a container with SERVICE_NAME is registered", container: { env: ["SERVICE_NAME=x"] }, options: { ...internal, explicit: true }, expect: ["host1:app_web_1:3000 x 10.88.0.7:3000 []"] },
  { what: "an image with a digest", container: { image: "web@sha256:abcd" }, expect: ["host1:app_web_1:3000 web 10.88.0.7:3000 []"] },
  { what: "no exposed port: nothing", container: { ports: [] }, expect: [] },

  // Hostile or broken input.
  { what: "a name that breaks the service-name rule is refused", container: { env: ["SERVICE_NAME=bad name/../x"] }, expect: [], problems: [/service-name rule/] },
  { what: 'the name ".." is refused', container: { env: ["SERVICE_NAME=.."] }, expect: [], problems: [/service-name rule/] },
  { what: "a 129-character name is refused", container: { env: [`SERVICE_NAME=${"a".repeat(129)}`] }, expect: [], problems: [/service-name rule/] },
  { what: "an image whose base name breaks the rule, no SERVICE_NAME", container: { image: "x/ünïcode" }, expect: [], problems: [/service-name rule/] },
  { what: "a key for a port the container does not expose", container: { env: ["SERVICE_3001_NAME=other"] }, expect: ["host1:app_web_1:3000 web 10.88.0.7:3000 []"], problems: [/port 3001, which the container does not expose/] },
  { what: "a key for port 99999", container: { env: ["SERVICE_99999_NAME=x"] }, expect: ["host1:app_web_1:3000 web 10.88.0.7:3000 []"], problems: [/port 99999/] },
  { what: "SERVICE_03000_NAME is not port 3000", container: { env: ["SERVICE_03000_NAME=x"] }, expect: ["host1:app_web_1:3000 web 10.88.0.7:3000 []"], problems: [/port 03000/] },
  { what: "ports out of range are dropped", container: { ports: [{ port: 0, protocol: "tcp" }, { port: 70000, protocol: "tcp" }, { port: -1, protocol: "tcp" }] }, expect: [] },
  { what: "a port listed twice is registered once", container: { ports: [{ port: 3000, protocol: "tcp" }, { port: 3000, protocol: "tcp" }] }, expect: ["host1:app_web_1:3000 web 10.88.0.7:3000 []"] },
  { what: "a SERVICE_ID with a slash is refused", container: { env: ["SERVICE_ID=../../agent/self"] }, expect: ["host1:app_web_1:3000 web 10.88.0.7:3000 []"], problems: [/SERVICE_ID/] },
  { what: "two ports with one SERVICE_ID: the second is refused", container: { ports: [{ port: 80, protocol: "tcp" }, { port: 443, protocol: "tcp" }], env: ["SERVICE_ID=same"] }, expect: ["same web-80 10.88.0.7:80 []"], problems: [/used by two ports/] },
  { what: "-internal without a container IP", container: { ip: undefined }, expect: [], problems: [/no IP address/] },
  { what: "external mode, wildcard binding and no host address", container: { ports: [{ port: 3000, protocol: "tcp", hostIp: "", hostPort: 1 }] }, options: { ...external, hostIp: undefined }, expect: [], problems: [/no -ip given/] },
  { what: "tags with control characters or too long are refused", container: { env: [`SERVICE_TAGS=ok,bad\u0007tag,${"t".repeat(300)}`] }, expect: ["host1:app_web_1:3000 web 10.88.0.7:3000 [ok]"], problems: [/2 tag\(s\) refused/] },
  { what: "a huge tag list is cut at the limit", container: { env: [`SERVICE_TAGS=${Array.from({ length: 10_000 }, (_, i) => `t${i}`).join(",")}`] }, expect: [`host1:app_web_1:3000 web 10.88.0.7:3000 [${Array.from({ length: MAX_TAGS }, (_, i) => `t${i}`).join(",")}]`], problems: [/more than 64 tags/] },
  { what: "keys without a name after SERVICE_ are ignored", container: { env: ["SERVICE_=x", "SERVICE", "=SERVICE_NAME"] }, expect: ["host1:app_web_1:3000 web 10.88.0.7:3000 []"] },
];

function describe(r: ReturnType<typeof registrationsFor>["registrations"][number]): string {
  return `${r.ID} ${r.Name} ${r.Address}:${r.Port} [${r.Tags.join(",")}]`;
}

for (const row of rows) {
  test(`registration rules: ${row.what}`, () => {
    const result = registrationsFor(container(row.container), row.options ?? internal);
    assert.deepEqual(result.registrations.map(describe), row.expect);
    for (const pattern of row.problems ?? []) {
      assert.ok(result.problems.some((p) => pattern.test(p)), `no problem matches ${pattern}; problems: ${JSON.stringify(result.problems)}`);
    }
    if (!row.problems) assert.deepEqual(result.problems, []);
  });
}

const checkRows: { what: string; env: string[]; check: Record<string, string> | undefined; problem?: RegExp }[] = [
  { what: "HTTP check with interval and timeout", env: ["SERVICE_CHECK_HTTP=/health", "SERVICE_CHECK_INTERVAL=5s", "SERVICE_CHECK_TIMEOUT=2s"], check: { HTTP: "http://10.88.0.7:3000/health", Interval: "5s", Timeout: "2s" } },
  { what: "per-port check keys", env: ["SERVICE_3000_CHECK_HTTP=/h", "SERVICE_3000_CHECK_INTERVAL=1m30s"], check: { HTTP: "http://10.88.0.7:3000/h", Interval: "1m30s" } },
  { what: "the default interval is 10s", env: ["SERVICE_CHECK_HTTP=/"], check: { HTTP: "http://10.88.0.7:3000/", Interval: "10s" } },
  { what: "HTTPS check", env: ["SERVICE_CHECK_HTTPS=/s"], check: { HTTPS: undefined as never, HTTP: "https://10.88.0.7:3000/s", Interval: "10s" } },
  { what: "TCP check", env: ["SERVICE_CHECK_TCP=true"], check: { TCP: "10.88.0.7:3000", Interval: "10s" } },
  { what: "deregister-after", env: ["SERVICE_CHECK_TCP=1", "SERVICE_CHECK_DEREGISTER_AFTER=90m"], check: { TCP: "10.88.0.7:3000", Interval: "10s", DeregisterCriticalServiceAfter: "90m" } },
  { what: "a path that is a URL is refused", env: ["SERVICE_CHECK_HTTP=http://evil.example/"], check: undefined, problem: /must be a path/ },
  { what: "a path with a space is refused", env: ["SERVICE_CHECK_HTTP=/a b"], check: undefined, problem: /must be a path/ },
  { what: "a bad interval falls back to 10s", env: ["SERVICE_CHECK_HTTP=/", "SERVICE_CHECK_INTERVAL=soon"], check: { HTTP: "http://10.88.0.7:3000/", Interval: "10s" }, problem: /not a duration/ },
  { what: "a negative timeout is left out", env: ["SERVICE_CHECK_HTTP=/", "SERVICE_CHECK_TIMEOUT=-1s"], check: { HTTP: "http://10.88.0.7:3000/", Interval: "10s" }, problem: /not a duration/ },
  { what: "script checks are not run", env: ["SERVICE_CHECK_SCRIPT=rm -rf /"], check: undefined, problem: /not supported/ },
];

for (const row of checkRows) {
  test(`registration rules, checks: ${row.what}`, () => {
    const result = registrationsFor(container({ env: row.env }), internal);
    assert.equal(result.registrations.length, 1);
    const expected = row.check && Object.fromEntries(Object.entries(row.check).filter(([, v]) => v !== undefined));
    assert.deepEqual(result.registrations[0]!.Check, expected);
    if (row.problem) assert.ok(result.problems.some((p) => row.problem!.test(p)), JSON.stringify(result.problems));
    else assert.deepEqual(result.problems, []);
  });
}

test("registration rules: every registration carries the registrar's host and container in Meta", () => {
  const [r] = registrationsFor(container(), internal).registrations;
  assert.deepEqual(r!.Meta, { registrar: "koa-consul-gateway", "registrar-host": "host1", "container-id": "c0ffee" });
});

test("registration rules: an IPv6 container address is bracketed in check URLs", () => {
  const [r] = registrationsFor(container({ ip: "fd00::7", env: ["SERVICE_CHECK_HTTP=/h"] }), internal).registrations;
  assert.equal(r!.Check?.HTTP, "http://[fd00::7]:3000/h");
});

test("image base names", () => {
  assert.equal(imageBaseName("node"), "node");
  assert.equal(imageBaseName("localhost:5000/a/b:tag"), "b");
  assert.equal(imageBaseName("docker.io/library/redis@sha256:00"), "redis");
});

test("port keys of the Docker API", () => {
  assert.deepEqual(parsePortKey("3000/tcp"), { port: 3000, protocol: "tcp" });
  assert.deepEqual(parsePortKey("53/udp"), { port: 53, protocol: "udp" });
  for (const bad of ["3000", "0/tcp", "70000/tcp", "3000/sctp", "3000-3005/tcp", "x/tcp"]) assert.equal(parsePortKey(bad), undefined, bad);
});

test("a container as `docker inspect` describes it, on a compose network", () => {
  const view = containerView({
    Id: "abc",
    Name: "/proj_serviceweb_1",
    Config: { Image: "proj_serviceweb", Env: ["SERVICE_3000_NAME=service-web"], Labels: { a: "b" }, ExposedPorts: { "3000/tcp": {} } },
    NetworkSettings: { IPAddress: "", Ports: { "3000/tcp": null, "9000/tcp": [{ HostIp: "0.0.0.0", HostPort: "32770" }] }, Networks: { proj_default: { IPAddress: "10.89.0.5" } } },
    State: { Running: true },
  } as unknown as Docker.ContainerInspectInfo);
  assert.deepEqual(view, {
    id: "abc",
    name: "proj_serviceweb_1",
    image: "proj_serviceweb",
    env: ["SERVICE_3000_NAME=service-web"],
    labels: { a: "b" },
    ports: [{ port: 3000, protocol: "tcp" }, { port: 9000, protocol: "tcp", hostIp: "0.0.0.0", hostPort: 32770 }],
    ip: "10.89.0.5",
  });
});
