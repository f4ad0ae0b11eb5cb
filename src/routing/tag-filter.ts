import type { Instance } from "../discovery/instance.js";

/**
 * Filtered lists are kept per instance list so that a request gets the same
 * array as the previous one (balancer caches key on it) without filtering
 * again. The tags a request asks for come from a client header: the number of
 * combinations kept per list is capped so that made-up tags cannot grow it.
 */
const MAX_CACHED_SELECTIONS = 64;
const cache = new WeakMap<readonly Instance[], Map<string, readonly Instance[]>>();

/** The instances that carry every one of `tags` (all of them when `tags` is empty). */
export function withTags(instances: readonly Instance[], tags: readonly string[]): readonly Instance[] {
  if (tags.length === 0) return instances;
  const key = tags.join("\n");
  let selections = cache.get(instances);
  const cached = selections?.get(key);
  if (cached !== undefined) return cached;
  const selected = Object.freeze(instances.filter((instance) => tags.every((tag) => instance.tags.includes(tag))));
  if (selections === undefined) cache.set(instances, (selections = new Map()));
  if (selections.size < MAX_CACHED_SELECTIONS) selections.set(key, selected);
  return selected;
}

/**
 * The tags that explain an empty selection, for the error message: those no
 * instance carries at all, or, when each is carried by some instance but
 * none carries all, every one of them.
 */
export function missingTags(instances: readonly Instance[], tags: readonly string[]): readonly string[] {
  const unknown = tags.filter((tag) => !instances.some((instance) => instance.tags.includes(tag)));
  return unknown.length > 0 ? unknown : tags;
}
