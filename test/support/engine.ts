/**
 * The container engine for the registrar and deployment tests: the Docker API
 * at DOCKER_HOST, else /var/run/docker.sock (scripts/ensure-engine.sh makes one
 * answer on a machine without Docker). Tests skip, saying why, when none answers.
 */
import Docker from "dockerode";

/** The DOCKER_HOST value the tests use. */
export function dockerHost(): string {
  return process.env["DOCKER_HOST"] || "unix:///var/run/docker.sock";
}

/** The engine's unix socket path, when DOCKER_HOST names one. */
export function dockerSocketPath(): string | undefined {
  const host = dockerHost();
  return host.startsWith("unix://") ? host.slice("unix://".length) : undefined;
}

/**
 * Why no test can run on the engine (the reason to skip them), or undefined
 * when it answers. With KCG_REQUIRE_ENGINE=1 (.ci/run) an engine that does not
 * answer is a failure, not a skip.
 */
export async function engineUnavailable(): Promise<string | undefined> {
  const reason = await whyNoEngine();
  if (reason !== undefined && process.env["KCG_REQUIRE_ENGINE"] === "1") throw new Error(`KCG_REQUIRE_ENGINE=1 but ${reason}`);
  return reason;
}

async function whyNoEngine(): Promise<string | undefined> {
  try {
    await new Docker().ping();
    return undefined;
  } catch (err) {
    return `no container engine answers at DOCKER_HOST=${dockerHost()} (${(err as Error).message}); run \`export DOCKER_HOST="$(bash scripts/ensure-engine.sh | tail -n 1)"\` first`;
  }
}

/** Pulls `image` unless the engine already has it (an engine fed by scripts/ensure-engine.sh has it locally). */
export async function ensureImage(docker: Docker, image: string): Promise<void> {
  try {
    await docker.getImage(image).inspect();
    return;
  } catch {
    // not there: pull below
  }
  const stream = await docker.pull(image);
  await new Promise<void>((resolve, reject) => docker.modem.followProgress(stream, (err) => (err ? reject(err) : resolve())));
}

/** Removes (forcibly) every container that carries `label=value`. */
export async function removeLabelled(docker: Docker, label: string, value: string): Promise<void> {
  const list = await docker.listContainers({ all: true, filters: { label: [`${label}=${value}`] } });
  await Promise.all(list.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
}
