/**
 * The JSON of one applied watcher message. The change log produces it and the
 * admin API and the browser dashboard show it, so this file imports nothing.
 */

/** One watcher message as it was applied: a change notification. */
export type TableChange =
  | { type: "service"; at: string; summary: string; service: string; index: string; instances: number; added: string[]; removed: string[]; changed: string[] }
  | { type: "catalog"; at: string; summary: string; index: string; services: number; added: string[]; removed: string[] }
  | { type: "watch-error"; at: string; summary: string; service: string | null; message: string };
