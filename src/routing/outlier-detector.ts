import createDebug from "debug";
import type { Instance } from "../discovery/instance.js";
import type { InstanceStatsRegistry } from "./instance-stats.js";

const debug = createDebug("gateway:outlier");

export interface OutlierOptions {
  /** Connection failures in a row that eject an instance; 0 turns passive health off. */
  consecutiveFailures: number;
  /** The first ejection's length; each further one without a success in between is longer. */
  baseEjectionMs: number;
  maxEjectionMs: number;
}

/**
 * Passive health: an instance that fails to connect N times in a row is taken
 * out of rotation for a while, independent of Consul's checks (which run every
 * few seconds and need a deregistration or a failing check to take effect).
 * When the ejection ends the instance is on probation: one more failure
 * ejects it again for longer, a success clears its record.
 */
export class OutlierDetector {
  constructor(
    private readonly stats: InstanceStatsRegistry,
    private readonly options: OutlierOptions,
    private readonly now: () => number = Date.now,
  ) {}

  /** The instances in rotation. When every one is ejected, all of them: a guess beats a certain 503. */
  available(instances: readonly Instance[]): readonly Instance[] {
    if (this.options.consecutiveFailures === 0) return instances;
    const now = this.now();
    let anyEjected = false;
    for (const instance of instances) {
      if ((this.stats.peek(instance.id)?.outlier.ejectedUntil ?? 0) > now) {
        anyEjected = true;
        break;
      }
    }
    if (!anyEjected) return instances;
    const healthy = instances.filter((i) => (this.stats.peek(i.id)?.outlier.ejectedUntil ?? 0) <= now);
    return healthy.length > 0 ? healthy : instances;
  }

  /** Records a failed connection; returns true when it ejected the instance. */
  onConnectFailure(instance: Instance): boolean {
    if (this.options.consecutiveFailures === 0) return false;
    const outlier = this.stats.get(instance.id).outlier;
    outlier.consecutiveFailures += 1;
    const onProbation = outlier.ejections > 0;
    if (outlier.consecutiveFailures < this.options.consecutiveFailures && !onProbation) return false;
    outlier.ejections += 1;
    outlier.consecutiveFailures = 0;
    const ms = Math.min(this.options.baseEjectionMs * outlier.ejections, this.options.maxEjectionMs);
    outlier.ejectedUntil = this.now() + ms;
    debug("ejected %s (%s:%d) for %d ms after failed connections (ejection %d)", instance.id, instance.address, instance.port, ms, outlier.ejections);
    return true;
  }

  onConnected(instance: Instance): void {
    const outlier = this.stats.peek(instance.id)?.outlier;
    if (outlier === undefined || (outlier.consecutiveFailures === 0 && outlier.ejections === 0)) return;
    if (outlier.ejections > 0) debug("%s connected again: back in rotation", instance.id);
    outlier.consecutiveFailures = 0;
    outlier.ejections = 0;
  }
}
