/**
 * How much traffic an instance should take relative to the others, from three
 * things: what its registration asks for (Consul's Weights, or a meta key),
 * its health state, and its age (warm-up). Every balancer reads its weights
 * here, so that health and warm-up hold an instance back whichever balancer a
 * service uses.
 */
import type { Instance } from "../discovery/instance.js";
import type { InstanceStatsRegistry } from "./instance-stats.js";
import { warmUpFactor } from "./warm-up.js";

/**
 * A meta key that sets the passing weight, for registration tools that can set
 * meta but not Consul's Weights (Registrator's SERVICE_<name>_<key> attributes, for instance).
 */
export const WEIGHT_META_KEY = "gateway-weight";

export interface TrafficWeightOptions {
  /** The warm-up window; 0 turns warm-up off. */
  readonly warmUpMs: number;
  /** A warning instance's share of its passing weight, unless its registration chose a lower Weights.Warning. */
  readonly warningWeightPercent: number;
}

/** The passing weight the registration asks for: the meta key when it is a positive integer, else Weights.Passing. */
export function registeredWeight(instance: Instance): number {
  const fromMeta = instance.meta[WEIGHT_META_KEY];
  if (fromMeta !== undefined && /^\d{1,9}$/.test(fromMeta) && Number(fromMeta) > 0) return Number(fromMeta);
  return instance.weights.passing;
}

/** The weight in the instance's current health state, before warm-up. */
export function healthWeight(instance: Instance, warningWeightPercent: number): number {
  const passing = registeredWeight(instance);
  if (instance.health === "passing") return passing;
  // Consul fills Weights.Warning = Weights.Passing when a registration sets none, so only a lower
  // Weights.Warning is a choice of the registration; otherwise the gateway's reduction applies.
  if (instance.weights.warning < instance.weights.passing) return instance.weights.warning;
  return (passing * warningWeightPercent) / 100;
}

export class TrafficWeights {
  /** Instances are frozen and replaced on change: their static weight is computed once. */
  private readonly staticWeights = new WeakMap<Instance, { weight: number; share: number }>();

  constructor(
    private readonly stats: InstanceStatsRegistry,
    private readonly options: TrafficWeightOptions,
  ) {}

  /** Registered weight × health × warm-up: what `weighted`, `least-request` and `hash` balance by. */
  weight(instance: Instance): number {
    return this.static(instance).weight * this.warmUp(instance);
  }

  /**
   * The same, relative to the instance's own registered weight: `random` and
   * `round-robin` treat instances as equals, yet still hold back warning and
   * warming-up ones.
   */
  share(instance: Instance): number {
    return this.static(instance).share * this.warmUp(instance);
  }

  warmUp(instance: Instance): number {
    const stats = this.stats.get(instance.id);
    return stats.warmUpExempt ? 1 : warmUpFactor(this.stats.now() - stats.firstSeenAt, this.options.warmUpMs);
  }

  private static(instance: Instance): { weight: number; share: number } {
    let cached = this.staticWeights.get(instance);
    if (cached === undefined) {
      const weight = healthWeight(instance, this.options.warningWeightPercent);
      cached = { weight, share: weight / registeredWeight(instance) };
      this.staticWeights.set(instance, cached);
    }
    return cached;
  }
}
