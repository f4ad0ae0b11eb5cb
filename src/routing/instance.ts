/** One healthy backend of a service, as the route table holds it. */
export interface Instance {
  /** Consul's service ID: stable across updates, so balancer state is keyed by it. */
  readonly id: string;
  readonly address: string;
  readonly port: number;
  readonly tags: readonly string[];
  readonly meta: Readonly<Record<string, string>>;
}

/** A stable text form of an instance list, used to tell a real change from a repeat. */
export function instancesFingerprint(instances: readonly Instance[]): string {
  const sorted = [...instances].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return JSON.stringify(
    sorted.map((i) => [i.id, i.address, i.port, [...i.tags].sort(), Object.entries(i.meta).sort()]),
  );
}

export function describeInstances(instances: readonly Instance[]): string {
  return instances.length === 0 ? "(none)" : instances.map((i) => `${i.id}@${i.address}:${i.port}`).join(", ");
}
