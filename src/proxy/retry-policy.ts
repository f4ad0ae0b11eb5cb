/**
 * When a failed attempt may be tried again on another instance.
 *
 * - The connection was never made (refused, unreachable, connect timeout):
 *   the instance processed nothing, so any method may be retried, provided the
 *   body was not consumed.
 * - The connection broke before response headers: the instance may have acted
 *   on the request, so only idempotent methods are retried (RFC 9110 §9.2.2),
 *   and only when no body was streamed (it cannot be replayed).
 * - A response timeout is never retried: the instance is probably working on it.
 */
const CONNECT_FAILURES = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EHOSTDOWN", "UND_ERR_CONNECT_TIMEOUT", "ENOTFOUND", "EAI_AGAIN"]);
const BROKEN_BEFORE_HEADERS = new Set(["ECONNRESET", "EPIPE", "UND_ERR_SOCKET", "UND_ERR_CLOSED"]);
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);

export type FailureKind = "connect" | "reset" | "other";

/** The socket-level code of an undici failure (undici may wrap it in `cause`). */
export function failureCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && (CONNECT_FAILURES.has(code) || BROKEN_BEFORE_HEADERS.has(code))) return code;
  }
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}

export function classifyFailure(err: unknown): FailureKind {
  const code = failureCode(err);
  if (code !== undefined && CONNECT_FAILURES.has(code)) return "connect";
  if (code !== undefined && BROKEN_BEFORE_HEADERS.has(code)) return "reset";
  return "other";
}

export function isRetryable(kind: FailureKind, method: string, bodyStarted: boolean): boolean {
  if (bodyStarted) return false;
  if (kind === "connect") return true;
  return kind === "reset" && IDEMPOTENT.has(method);
}
