import { GatewayError } from "../gateway/errors.js";

const UNREACHABLE = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EHOSTDOWN",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
]);
const TIMEOUT = new Set(["UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "ETIMEDOUT"]);

function errorCode(err: unknown): string | undefined {
  // undici puts the socket's own error (ECONNREFUSED, ...) in `cause` at times.
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && (UNREACHABLE.has(code) || TIMEOUT.has(code))) return code;
  }
  return (err as { code?: string } | undefined)?.code;
}

/** What a failure to get an instance's response headers means for the client. */
export function toGatewayError(err: unknown, service: string, instance: string): GatewayError {
  const code = errorCode(err);
  if (code !== undefined && TIMEOUT.has(code)) {
    return new GatewayError("UPSTREAM_TIMEOUT", `instance ${instance} did not answer in time (${code})`, service, { cause: err });
  }
  if (code !== undefined && UNREACHABLE.has(code)) {
    return new GatewayError("UPSTREAM_UNREACHABLE", `instance ${instance} could not be reached (${code})`, service, { cause: err });
  }
  return new GatewayError("UPSTREAM_ERROR", `instance ${instance} failed: ${(err as Error)?.message ?? String(err)}`, service, { cause: err });
}
