import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, loadConfig, loadRegistrySettings, parseConsulAddress, settingsMarkdownTable } from "../../src/config.js";

test("defaults apply when nothing is set", () => {
  const config = loadConfig({});
  assert.equal(config.port, 3000);
  assert.equal(config.host, "0.0.0.0");
  assert.deepEqual(config.consulAddresses, [{ protocol: "http:", host: "127.0.0.1", port: 8500 }]);
  assert.equal(config.balancer, "random");
  assert.deepEqual(config.services, []);
  assert.equal(config.consulToken, undefined);
});

test("environment values are parsed into typed settings", () => {
  const config = loadConfig({
    GATEWAY_PORT: "8080",
    CONSUL_HTTP_ADDR: "10.0.0.1:8500, https://consul.internal ,10.0.0.3",
    CONSUL_HTTP_TOKEN: "secret",
    GATEWAY_SERVICES: "service-web, api",
    GATEWAY_BALANCER: "round-robin",
    GATEWAY_UPSTREAM_TIMEOUT_MS: "1500",
  });
  assert.equal(config.port, 8080);
  assert.deepEqual(config.consulAddresses, [
    { protocol: "http:", host: "10.0.0.1", port: 8500 },
    { protocol: "https:", host: "consul.internal", port: 443 },
    { protocol: "http:", host: "10.0.0.3", port: 8500 },
  ]);
  assert.equal(config.consulToken, "secret");
  assert.deepEqual(config.services, ["service-web", "api"]);
  assert.equal(config.balancer, "round-robin");
  assert.equal(config.upstreamTimeoutMs, 1500);
});

test("flags override the environment, in both --flag=value and --flag value forms", () => {
  const config = loadConfig({ GATEWAY_PORT: "1" }, ["--port=2", "--balancer", "round-robin", "--consul-http-addr", "c:1"]);
  assert.equal(config.port, 2);
  assert.equal(config.balancer, "round-robin");
  assert.equal(config.consulAddresses[0]!.host, "c");
});

const invalid: [Record<string, string>, string, RegExp][] = [
  [{ GATEWAY_PORT: "http" }, "GATEWAY_PORT", /integer from 0 to 65535/],
  [{ GATEWAY_PORT: "70000" }, "GATEWAY_PORT", /integer from 0 to 65535/],
  [{ GATEWAY_PORT: "-1" }, "GATEWAY_PORT", /integer/],
  [{ GATEWAY_BALANCER: "fastest" }, "GATEWAY_BALANCER", /one of random, round-robin, weighted, least-request, hash/],
  [{ GATEWAY_SERVICE_BALANCERS: "web" }, "GATEWAY_SERVICE_BALANCERS", /service:balancer/],
  [{ GATEWAY_SERVICE_BALANCERS: "web:fastest" }, "GATEWAY_SERVICE_BALANCERS", /one of random/],
  [{ GATEWAY_SERVICE_BALANCERS: "a b:hash" }, "GATEWAY_SERVICE_BALANCERS", /not a service name/],
  [{ GATEWAY_HASH_KEY: "query:x" }, "GATEWAY_HASH_KEY", /client-address, header:NAME or cookie:NAME/],
  [{ GATEWAY_WARMUP_MS: "-1" }, "GATEWAY_WARMUP_MS", /0 to 3600000/],
  [{ GATEWAY_HEALTH_STATES: "warning" }, "GATEWAY_HEALTH_STATES", /passing or passing,warning/],
  [{ GATEWAY_HEALTH_STATES: "passing,critical" }, "GATEWAY_HEALTH_STATES", /passing or passing,warning/],
  [{ GATEWAY_WARNING_WEIGHT_PERCENT: "0" }, "GATEWAY_WARNING_WEIGHT_PERCENT", /1 to 100/],
  [{ GATEWAY_SERVICE_TAGS: "web" }, "GATEWAY_SERVICE_TAGS", /service:tag/],
  [{ GATEWAY_SERVICE_TAGS: "web:" }, "GATEWAY_SERVICE_TAGS", /service:tag/],
  [{ GATEWAY_TAG_HEADER: "x tag" }, "GATEWAY_TAG_HEADER", /header name/],
  [{ GATEWAY_HEADER_ROUTE_PREFIX: "services" }, "GATEWAY_HEADER_ROUTE_PREFIX", /path such as \/services/],
  [{ GATEWAY_HEADER_ROUTE_PREFIX: "/" }, "GATEWAY_HEADER_ROUTE_PREFIX", /path such as/],
  [{ CONSUL_HTTP_ADDR: "ftp://x:1" }, "CONSUL_HTTP_ADDR", /host:port/],
  [{ CONSUL_HTTP_ADDR: "x:1/v1/path" }, "CONSUL_HTTP_ADDR", /host:port/],
  [{ CONSUL_HTTP_ADDR: " , " }, "CONSUL_HTTP_ADDR", /at least one/],
  [{ GATEWAY_SERVICES: "ok,not ok" }, "GATEWAY_SERVICES", /not a service name/],
  [{ GATEWAY_UPSTREAM_TIMEOUT_MS: "0" }, "GATEWAY_UPSTREAM_TIMEOUT_MS", /1 to 3600000/],
  [{ GATEWAY_CONSUL_WAIT_MS: "10" }, "GATEWAY_CONSUL_WAIT_MS", /1000 to 600000/],
  [{ GATEWAY_REGISTRY: "etcd" }, "GATEWAY_REGISTRY", /one of consul, zookeeper/],
  [{ ZOOKEEPER_CONNECT: "zk1" }, "ZOOKEEPER_CONNECT", /host:port/],
  [{ ZOOKEEPER_CONNECT: "zk1:2181/services" }, "ZOOKEEPER_CONNECT", /host:port/],
  [{ ZOOKEEPER_CONNECT: "zk1:0" }, "ZOOKEEPER_CONNECT", /host:port/],
  [{ ZOOKEEPER_CONNECT: " , " }, "ZOOKEEPER_CONNECT", /at least one/],
];

for (const [env, setting, pattern] of invalid) {
  test(`${setting}=${JSON.stringify(Object.values(env)[0])} is refused, naming the setting and the accepted form`, () => {
    assert.throws(
      () => loadConfig(env),
      (err: unknown) => err instanceof ConfigError && err.setting === setting && err.message.startsWith(`${setting}: `) && pattern.test(err.message),
    );
  });
}

test("traffic policy defaults: passing only, warm-up 30 s, X-Gateway-Tag, /services, hash by client address", () => {
  const config = loadConfig({});
  assert.deepEqual(config.healthStates, ["passing"]);
  assert.equal(config.warmUpMs, 30_000);
  assert.equal(config.warningWeightPercent, 10);
  assert.equal(config.tagHeader, "x-gateway-tag");
  assert.equal(config.headerRoutePrefix, "/services");
  assert.deepEqual(config.hashKey, { source: "client-address" });
  assert.equal(config.serviceBalancers.size, 0);
  assert.equal(config.serviceTags.size, 0);
});

test("traffic policy settings are parsed", () => {
  const config = loadConfig({
    GATEWAY_SERVICE_BALANCERS: "service-web:weighted, api:hash",
    GATEWAY_HASH_KEY: "cookie:session",
    GATEWAY_WARMUP_MS: "0",
    GATEWAY_HEALTH_STATES: "warning,passing",
    GATEWAY_SERVICE_TAGS: "service-web:v2,canary; api:prod ;service-web:v2",
    GATEWAY_TAG_HEADER: "",
    GATEWAY_HEADER_ROUTE_PREFIX: "/by-header/",
  });
  assert.deepEqual([...config.serviceBalancers], [["service-web", "weighted"], ["api", "hash"]]);
  assert.deepEqual(config.hashKey, { source: "cookie", name: "session" });
  assert.equal(config.warmUpMs, 0);
  assert.deepEqual(config.healthStates, ["passing", "warning"]);
  assert.deepEqual([...config.serviceTags], [["service-web", ["canary", "v2"]], ["api", ["prod"]]]);
  assert.equal(config.tagHeader, undefined);
  assert.equal(config.headerRoutePrefix, "/by-header");
  assert.equal(loadConfig({ GATEWAY_HEADER_ROUTE_PREFIX: "" }).headerRoutePrefix, undefined);
});

test("an unknown flag is refused with the list of accepted ones", () => {
  assert.throws(() => loadConfig({}, ["--prot=1"]), /--prot: unknown option; accepted: .*--port/);
  assert.throws(() => loadConfig({}, ["--port"]), /--port: needs a value/);
});

test("parseConsulAddress accepts host:port, a scheme, and bracketed IPv6", () => {
  assert.deepEqual(parseConsulAddress("[::1]:8500"), { protocol: "http:", host: "::1", port: 8500 });
  assert.deepEqual(parseConsulAddress("http://consul:9"), { protocol: "http:", host: "consul", port: 9 });
});

test("docs/configuration.md's settings table lists every variable", () => {
  const table = settingsMarkdownTable();
  for (const name of ["GATEWAY_PORT", "CONSUL_HTTP_ADDR", "CONSUL_HTTP_TOKEN", "GATEWAY_SERVICES", "GATEWAY_BALANCER", "GATEWAY_UPSTREAM_TIMEOUT_MS", "GATEWAY_DISCOVERY_TIMEOUT_MS"]) {
    assert.match(table, new RegExp(`\\| \`${name}\` \\|`));
  }
});

test("cluster mode: one worker by default, GATEWAY_WORKERS or --workers sets more, 0 is refused", () => {
  assert.equal(loadConfig({}).workers, 1);
  assert.equal(loadConfig({ GATEWAY_WORKERS: "2" }).workers, 2);
  assert.equal(loadConfig({}, ["--workers", "4"]).workers, 4);
  assert.throws(() => loadConfig({ GATEWAY_WORKERS: "0" }), /GATEWAY_WORKERS: expected an integer from 1 to 256, got "0"/);
});

test("GATEWAY_WATCH: per-service by default, shared on request, anything else refused", () => {
  assert.equal(loadConfig({}).watch, "per-service");
  assert.equal(loadConfig({}, ["--watch", "shared"]).watch, "shared");
  assert.throws(() => loadConfig({ GATEWAY_WATCH: "all" }), /GATEWAY_WATCH: expected one of per-service, shared, got "all"/);
});

test("GATEWAY_WATCH=shared is a Consul mode: refused with ZooKeeper, per-service accepted", () => {
  assert.throws(() => loadConfig({ GATEWAY_REGISTRY: "zookeeper", GATEWAY_WATCH: "shared" }), /GATEWAY_WATCH: shared is a Consul watch mode/);
  assert.equal(loadConfig({ GATEWAY_REGISTRY: "zookeeper", GATEWAY_WATCH: "per-service" }).watch, "per-service");
});

test("the admin server is on loopback port 9901 and the access log off unless configured", () => {
  const config = loadConfig({});
  assert.equal(config.adminHost, "127.0.0.1");
  assert.equal(config.adminPort, 9901);
  assert.deepEqual(config.accessLog, { kind: "off" });
});

test("GATEWAY_ACCESS_LOG takes off, stdout or a file path", () => {
  assert.deepEqual(loadConfig({ GATEWAY_ACCESS_LOG: "stdout" }).accessLog, { kind: "stdout" });
  assert.deepEqual(loadConfig({}, ["--access-log", "/var/log/gateway/access.log"]).accessLog, { kind: "file", path: "/var/log/gateway/access.log" });
  assert.throws(() => loadConfig({ GATEWAY_ACCESS_LOG: " " }), /GATEWAY_ACCESS_LOG: expected off, stdout or a file path/);
  assert.throws(() => loadConfig({ GATEWAY_ADMIN_PORT: "99999" }), /GATEWAY_ADMIN_PORT: expected an integer from 0 to 65535/);
  assert.throws(() => loadConfig({ GATEWAY_ADMIN_HOST: "bad host" }), /GATEWAY_ADMIN_HOST: expected an IP address or host name/);
});

test("the registry is Consul unless GATEWAY_REGISTRY says zookeeper; ZOOKEEPER_CONNECT lists its servers", () => {
  assert.equal(loadConfig({}).registry, "consul");
  assert.equal(loadConfig({}).zookeeperConnect, "127.0.0.1:2181");
  const config = loadConfig({ GATEWAY_REGISTRY: "zookeeper", ZOOKEEPER_CONNECT: "zk1:2181, 10.0.0.2:2181 ,[::1]:2182" });
  assert.equal(config.registry, "zookeeper");
  assert.equal(config.zookeeperConnect, "zk1:2181,10.0.0.2:2181,[::1]:2182");
  assert.equal(loadConfig({}, ["--registry", "zookeeper", "--zookeeper-connect=zk:1"]).zookeeperConnect, "zk:1");
});

test("loadRegistrySettings reads the registry's settings only, so unrelated gateway variables cannot stop the demo service", () => {
  const settings = loadRegistrySettings({ GATEWAY_REGISTRY: "zookeeper", ZOOKEEPER_CONNECT: "zk:2181", GATEWAY_PORT: "not a port" });
  assert.equal(settings.registry, "zookeeper");
  assert.equal(settings.zookeeperConnect, "zk:2181");
  assert.ok(!("port" in settings));
  assert.throws(() => loadRegistrySettings({ GATEWAY_REGISTRY: "etcd" }), /GATEWAY_REGISTRY/);
});
