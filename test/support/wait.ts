/**
 * Polls `probe` until it returns a value other than undefined/false, or fails after `timeoutMs`.
 * An error the probe throws is retried, unless `isFinal` says that waiting longer cannot help.
 */
export async function eventually<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 10_000,
  what = "condition",
  isFinal: (err: unknown) => boolean = () => false,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      if (isFinal(err)) throw new Error(`stopped waiting for ${what}: ${(err as Error).message}`, { cause: err });
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ""}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Awaits `promise` for at most `timeoutMs`: for a promise that may never settle, which is then the failure. */
export async function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let outcome: { value: T } | { error: unknown } | undefined;
  promise.then(
    (value) => (outcome = { value }),
    (error: unknown) => (outcome = { error }),
  );
  const settled = await eventually(() => outcome, timeoutMs, what);
  if ("error" in settled) throw settled.error;
  return settled.value;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
