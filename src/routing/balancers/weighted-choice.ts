/**
 * A random index into `weights`, each index drawn with probability
 * proportional to its weight; `exclude` (an index) is never drawn. Equal
 * weights give a uniform draw.
 */
export function weightedIndex(weights: readonly number[], random: () => number, exclude = -1): number {
  let total = 0;
  for (let i = 0; i < weights.length; i++) if (i !== exclude) total += weights[i]!;
  let r = random() * total;
  let last = -1;
  for (let i = 0; i < weights.length; i++) {
    if (i === exclude) continue;
    last = i;
    r -= weights[i]!;
    if (r < 0) return i;
  }
  // Rounding left r at (or a hair above) 0: the last candidate is the one the draw landed on.
  return last;
}
