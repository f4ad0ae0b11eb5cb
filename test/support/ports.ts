import { createServer } from "node:net";

/**
 * Ports are drawn from below Linux's ephemeral range (32768-60999 by
 * default), not picked by the OS with listen(0): a port the OS picks comes
 * from that range, and between the check here and the real bind by Consul or
 * a gateway, any outgoing connection on the machine may take it as its local
 * port. Below the range, only another listener can, and the random draw makes
 * two test processes unlikely to want the same one.
 */
const LOWEST = 20_000;
const ABOVE_HIGHEST = 32_768;
/** Handed out by this process already: never twice, even once closed again. */
const handedOut = new Set<number>();

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** A TCP port on 127.0.0.1 that was free a moment ago and that no outgoing connection will take. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 1_000; attempt++) {
    const port = LOWEST + Math.floor(Math.random() * (ABOVE_HIGHEST - LOWEST));
    if (handedOut.has(port)) continue;
    if (await canListen(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port on 127.0.0.1 between ${LOWEST} and ${ABOVE_HIGHEST - 1} after 1000 tries`);
}

/**
 * Ports this process must never hand out: ones another process was told to bind later (the demo's
 * gateway and admin ports), which are free now and would otherwise look like any other free port.
 */
export function reservePorts(...ports: number[]): void {
  for (const port of ports) handedOut.add(port);
}

export async function freePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) ports.push(await freePort());
  return ports;
}
