/**
 * The rule for a service name, shared by the settings, the request target, the
 * admin API and the watcher's IPC schema: one rule, so a name the gateway
 * accepts in a URL is a name the watcher may subscribe to.
 */

/** Letters, digits, '-', '_' and '.', as Consul's DNS-compatible names; "." and ".." never. */
const SERVICE_NAME = /^(?!\.\.?$)[A-Za-z0-9._-]{1,128}$/;

export function isValidServiceName(name: string): boolean {
  return SERVICE_NAME.test(name);
}
