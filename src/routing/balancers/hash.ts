import type { Instance } from "../../discovery/instance.js";
import type { Balancer, PickRequest, Weigh } from "./balancer.js";
import type { HashKey } from "../../balancer-options.js";
import { requestHashKey } from "./hash-key.js";

/**
 * cyrb53 (bryc, public domain): a fast, well-mixed 53-bit string hash. Not
 * cryptographic; a client that wants a particular instance can choose its key anyway.
 */
export function cyrb53(text: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

const TWO_POW_53 = 2 ** 53;

/**
 * Consistent hashing by weighted rendezvous (highest random weight) hashing:
 * every instance scores the key with `weight / -ln(u)`, u a hash of (key,
 * instance id) in (0, 1), and the highest score wins. Why this and not a ring:
 * - minimal reshuffling, exactly: when an instance leaves, only its keys move
 *   (each to its own runner-up); when one arrives, it takes only the keys it now
 *   outscores, about 1/n of each other instance's;
 * - weights and warm-up fit in without rebuilding anything: a warming-up
 *   instance's rising weight only ever pulls keys towards it, never shuffles the rest;
 * - no ring to build or cache per instance list; a pick costs one hash per
 *   instance, cheap for the tens of instances a service has.
 */
export class HashBalancer implements Balancer {
  constructor(
    private readonly weigh: Weigh,
    private readonly key: HashKey,
  ) {}

  pick(_service: string, instances: readonly Instance[], request: PickRequest): Instance {
    const seed = cyrb53(requestHashKey(request, this.key)) % 4294967296;
    let best = instances[0]!;
    let bestScore = -1;
    for (const instance of instances) {
      const u = (cyrb53(instance.id, seed) + 0.5) / TWO_POW_53;
      const score = this.weigh(instance) / -Math.log(u);
      if (score > bestScore || (score === bestScore && instance.id < best.id)) {
        best = instance;
        bestScore = score;
      }
    }
    return best;
  }
}
