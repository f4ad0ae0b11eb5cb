/**
 * Slow start: a new instance's caches, JIT and connection pools are cold, so it
 * takes a growing share of traffic instead of a full one at once (Envoy's
 * slow_start). The factor multiplies the
 * instance's weight in every balancer.
 */

/** The share a brand-new instance starts with: small, but enough for it to be seen working. */
export const WARM_UP_START_FACTOR = 0.1;

/**
 * 0.1 at age 0, rising linearly to 1 at the end of the window; 1 when the
 * window is 0 (warm-up off) or the instance is older than it.
 */
export function warmUpFactor(ageMs: number, windowMs: number): number {
  if (windowMs <= 0 || ageMs >= windowMs) return 1;
  if (ageMs <= 0) return WARM_UP_START_FACTOR;
  return WARM_UP_START_FACTOR + (1 - WARM_UP_START_FACTOR) * (ageMs / windowMs);
}
