/**
 * GATEWAY_TRUSTED_PROXIES: the peers (load balancers, CDNs) whose forwarded
 * headers are believed. A list of CIDR blocks or single addresses, IPv4 and
 * IPv6; a peer that arrives as an IPv4-mapped IPv6 address (::ffff:10.0.0.1,
 * as a dual-stack listener reports IPv4 clients) matches the IPv4 blocks.
 */
import { BlockList, isIP } from "node:net";

export class TrustedProxies {
  static readonly NONE = new TrustedProxies([]);

  private readonly list = new BlockList();
  /** The cache of the last answers: a gateway sees few distinct peers behind a load balancer. */
  private readonly answers = new Map<string, boolean>();

  private constructor(readonly blocks: readonly string[]) {
    for (const block of blocks) {
      const [address, bits] = splitBlock(block)!;
      const family = isIP(address) === 4 ? "ipv4" : "ipv6";
      this.list.addSubnet(address, bits, family);
    }
  }

  /** Parses "10.0.0.0/8, 192.168.1.7, fd00::/8"; throws with the bad entry named. */
  static parse(value: string): TrustedProxies {
    const blocks = value
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "");
    for (const block of blocks) {
      if (splitBlock(block) === undefined) throw new Error(`${JSON.stringify(block.slice(0, 60))} is not an IPv4 or IPv6 address or CIDR block`);
    }
    return blocks.length === 0 ? TrustedProxies.NONE : new TrustedProxies(blocks);
  }

  get isEmpty(): boolean {
    return this.blocks.length === 0;
  }

  /** Is the peer at `address` (as the socket reports it) trusted? */
  trusts(address: string | undefined): boolean {
    if (address === undefined || this.blocks.length === 0) return false;
    let answer = this.answers.get(address);
    if (answer === undefined) {
      answer = this.check(address);
      if (this.answers.size >= 1024) this.answers.clear();
      this.answers.set(address, answer);
    }
    return answer;
  }

  private check(address: string): boolean {
    const family = isIP(address);
    // Either form of an IPv4 peer matches either form of a block.
    if (family === 4) return this.list.check(address, "ipv4") || this.list.check(`::ffff:${address}`, "ipv6");
    if (family !== 6) return false;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
    return this.list.check(address, "ipv6") || (mapped !== undefined && this.list.check(mapped, "ipv4"));
  }
}

/** [address, prefix bits] of "addr" or "addr/bits", or undefined when it is neither. */
function splitBlock(block: string): [string, number] | undefined {
  const slash = block.indexOf("/");
  const address = slash === -1 ? block : block.slice(0, slash);
  const family = isIP(address);
  if (family === 0) return undefined;
  const max = family === 4 ? 32 : 128;
  if (slash === -1) return [address, max];
  const bitsText = block.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bitsText) || Number(bitsText) > max) return undefined;
  return [address, Number(bitsText)];
}
