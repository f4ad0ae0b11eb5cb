/**
 * The ZooKeeper layout of Registrator's ZooKeeper backend (run with
 * `zookeeper://host:2181/services`):
 *
 *   /services                         persistent; its children are the catalog
 *   /services/<name>                  persistent; removed when its last instance leaves
 *   /services/<name>/<ip>:<port>      ephemeral, one per instance, with a JSON body:
 *     {"Name","IP","PublicPort","PrivatePort","ContainerID","Tags","Attrs"}
 *
 * The node name is authoritative for the address and port (and is the
 * instance's id, unique within a service); the body, where present, adds the
 * tags and the attributes (which become the instance's meta).
 */
import type { Instance } from "../instance.js";
import { isValidInstanceAddress } from "../messages.js";
import type { ServiceRegistration } from "./registry.js";

export const SERVICES_PATH = "/services";

export function servicePath(service: string): string {
  return `${SERVICES_PATH}/${service}`;
}

export function instancePath(registration: Pick<ServiceRegistration, "name" | "address" | "port">): string {
  return `${servicePath(registration.name)}/${registration.address}:${registration.port}`;
}

/** Registrator's ZnodeBody, field for field (Go's encoding/json writes nil slices and maps as null). */
interface RegistratorBody {
  Name: string;
  IP: string;
  PublicPort: number;
  PrivatePort: number;
  ContainerID: string;
  Tags: string[] | null;
  Attrs: Record<string, string> | null;
}

/** The body Registrator would write for this instance; ContainerID carries the instance's own id. */
export function registrationBody(registration: ServiceRegistration): Buffer {
  const body: RegistratorBody = {
    Name: registration.name,
    IP: registration.address,
    PublicPort: registration.port,
    PrivatePort: registration.port,
    ContainerID: registration.id,
    Tags: registration.tags ?? [],
    Attrs: registration.meta ?? {},
  };
  return Buffer.from(JSON.stringify(body));
}

/**
 * An instance node as a route table instance, or a reason it is skipped: a
 * name that is not host:port would make an upstream URL of anything, and one
 * bad node must not cost the service its other instances.
 */
export function parseInstanceNode(name: string, data: Buffer | undefined): { instance: Instance } | { skipped: string } {
  const colon = name.lastIndexOf(":");
  const address = name.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  const portText = name.slice(colon + 1);
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (colon < 1 || !isValidInstanceAddress(address) || !(port >= 1 && port <= 65535)) {
    return { skipped: `node name ${JSON.stringify(name)} is not host:port` };
  }
  const { tags, meta } = parseBody(data);
  // A node exists while its instance's session lives: that is ZooKeeper's whole health signal.
  return { instance: { id: name, address, port, tags, meta, health: "passing", weights: { passing: 1, warning: 1 } } };
}

/** Tags and Attrs from a Registrator body; an empty, non-JSON or partial body gives none (the node still counts). */
function parseBody(data: Buffer | undefined): { tags: string[]; meta: Record<string, string> } {
  let body: unknown;
  try {
    body = data === undefined || data.length === 0 ? undefined : JSON.parse(data.toString("utf8"));
  } catch {
    body = undefined;
  }
  const record = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
  const tags = Array.isArray(record.Tags) ? record.Tags.filter((tag): tag is string => typeof tag === "string") : [];
  const attrs = typeof record.Attrs === "object" && record.Attrs !== null ? Object.entries(record.Attrs as Record<string, unknown>) : [];
  const meta = Object.fromEntries(attrs.filter((entry): entry is [string, string] => typeof entry[1] === "string"));
  return { tags, meta };
}
