import createDebug from "debug";
import { instanceKey, type Instance } from "../discovery/instance.js";
import type { InstanceStatsRegistry } from "./instance-stats.js";
import type { GatewayConfig } from "../config.js";

const debug = createDebug("gateway:outlier");

/** Why an instance was ejected: the two triggers of Envoy's outlier detection this gateway has. */
export type EjectionReason = "consecutive_5xx" | "consecutive_gateway_failures";
export const EJECTION_REASONS: readonly EjectionReason[] = ["consecutive_5xx", "consecutive_gateway_failures"];

export interface OutlierOptions {
  /** Gateway failures in a row (connect failure, reset, timeout) that eject an instance; 0 turns this trigger off. */
  consecutiveGatewayFailures: number;
  /** 5xx answers of the instance's own in a row that eject it; 0 turns this trigger off. */
  consecutive5xx: number;
  /** At most this share of a service's instances is ejected at once (one always may be). */
  maxEjectionPercent: number;
  /** Below this share of instances in rotation, the balancer uses all of them (Envoy's panic threshold); 0: never. */
  panicThresholdPercent: number;
  /** The first ejection's length; each further one without a success in between is longer. */
  baseEjectionMs: number;
  maxEjectionMs: number;
}

/** A service's passive health at a moment, for /routes and the metrics. */
export interface OutlierState {
  /** Instances out of rotation now. */
  ejected: number;
  /** Too few instances are in rotation: all of them take traffic again. */
  panic: boolean;
}

/**
 * Passive health as Envoy's outlier detection does it: an instance that fails
 * N times in a row is taken out of rotation for a while, independent of the
 * registry's checks (which run every few seconds and need a failing check to
 * take effect). Two triggers count apart: 5xx answers of the instance's own,
 * and gateway failures (no answer: refused or broken connections, timeouts).
 * Ejections are bounded (max_ejection_percent) so that a fault shared by all
 * instances, or by the gateway's own network, cannot empty a service; and
 * under the panic threshold every instance takes traffic again, as spreading
 * load over sick instances beats overloading the few healthy ones.
 * When an ejection ends the instance is on probation: one more failure ejects
 * it again for longer, a good answer clears its record.
 */
/** The detector's settings (GATEWAY_OUTLIER_*, GATEWAY_PANIC_THRESHOLD_PERCENT), for a gateway process and a cluster's primary alike. */
export function outlierOptions(config: GatewayConfig): OutlierOptions {
  return {
    consecutiveGatewayFailures: config.outlierConsecutiveFailures,
    consecutive5xx: config.outlierConsecutive5xx,
    maxEjectionPercent: config.outlierMaxEjectionPercent,
    panicThresholdPercent: config.panicThresholdPercent,
    baseEjectionMs: config.outlierEjectionMs,
    maxEjectionMs: config.outlierMaxEjectionMs,
  };
}

export class OutlierDetector {
  constructor(
    private readonly stats: InstanceStatsRegistry,
    private readonly options: OutlierOptions,
    private readonly now: () => number = Date.now,
  ) {}

  private ejectedAt(instance: Instance, now: number): boolean {
    return (this.stats.peek(instanceKey(instance))?.outlier.ejectedUntil ?? 0) > now;
  }

  /** The instances to balance over: those in rotation, or all of them in panic. */
  available(instances: readonly Instance[]): readonly Instance[] {
    const now = this.now();
    let ejected = 0;
    for (const instance of instances) if (this.ejectedAt(instance, now)) ejected += 1;
    if (ejected === 0 || this.panics(instances.length, ejected)) return instances;
    return instances.filter((i) => !this.ejectedAt(i, now));
  }

  state(instances: readonly Instance[], now = this.now()): OutlierState {
    let ejected = 0;
    for (const instance of instances) if (this.ejectedAt(instance, now)) ejected += 1;
    return { ejected, panic: ejected > 0 && this.panics(instances.length, ejected) };
  }

  /** No answer from the instance (refused, reset, timed out); returns the reason when it ejected it. */
  onGatewayFailure(instance: Instance, instances: readonly Instance[]): EjectionReason | undefined {
    if (this.options.consecutiveGatewayFailures === 0) return undefined;
    const outlier = this.stats.get(instanceKey(instance)).outlier;
    outlier.consecutiveGatewayFailures += 1;
    if (outlier.consecutiveGatewayFailures < this.options.consecutiveGatewayFailures && outlier.ejections === 0) return undefined;
    return this.eject(instance, instances, "consecutive_gateway_failures");
  }

  /** The instance answered with `status`; returns the reason when a 5xx ejected it. */
  onResponse(instance: Instance, status: number, instances: readonly Instance[]): EjectionReason | undefined {
    const outlier = this.stats.peek(instanceKey(instance))?.outlier;
    if (outlier === undefined) return undefined;
    outlier.consecutiveGatewayFailures = 0;
    if (status >= 500 && this.options.consecutive5xx > 0) {
      outlier.consecutive5xx += 1;
      if (outlier.consecutive5xx < this.options.consecutive5xx && outlier.ejections === 0) return undefined;
      return this.eject(instance, instances, "consecutive_5xx");
    }
    if (outlier.ejections > 0) debug("%s answered %d: back in rotation", instanceKey(instance), status);
    outlier.consecutive5xx = 0;
    outlier.ejections = 0;
    return undefined;
  }

  private panics(total: number, ejected: number): boolean {
    const healthy = total - ejected;
    return healthy === 0 || healthy * 100 < this.options.panicThresholdPercent * total;
  }

  private eject(instance: Instance, instances: readonly Instance[], reason: EjectionReason): EjectionReason | undefined {
    const now = this.now();
    const key = instanceKey(instance);
    const outlier = this.stats.get(key).outlier;
    if (outlier.ejectedUntil > now) return undefined;
    let others = 0;
    for (const other of instances) if (other !== instance && this.ejectedAt(other, now)) others += 1;
    // One instance may always be ejected (as in Envoy); more only within the bound.
    if (others > 0 && (others + 1) * 100 > this.options.maxEjectionPercent * instances.length) {
      debug("%s not ejected (%s): %d of %d instances are out already, the most GATEWAY_OUTLIER_MAX_EJECTION_PERCENT allows", key, reason, others, instances.length);
      return undefined;
    }
    outlier.ejections += 1;
    outlier.consecutiveGatewayFailures = 0;
    outlier.consecutive5xx = 0;
    const ms = Math.min(this.options.baseEjectionMs * outlier.ejections, this.options.maxEjectionMs);
    outlier.ejectedUntil = now + ms;
    outlier.lastReason = reason;
    debug("ejected %s (%s:%d) for %d ms: %s (ejection %d)", key, instance.address, instance.port, ms, reason, outlier.ejections);
    return reason;
  }
}
