import { GatewayError } from "../errors.js";
import { classifyFailure, failureCode } from "./retry-policy.js";

const TIMEOUT = new Set(["UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "ETIMEDOUT"]);

/** What a failure to get an instance's response headers means for the client. */
export function toGatewayError(err: unknown, service: string, instance: string): GatewayError {
  const code = failureCode(err);
  if (code !== undefined && TIMEOUT.has(code)) {
    return new GatewayError("UPSTREAM_TIMEOUT", `instance ${instance} did not answer in time (${code})`, service, { cause: err });
  }
  if (classifyFailure(err) !== "other") {
    return new GatewayError("UPSTREAM_UNREACHABLE", `instance ${instance} could not be reached (${code})`, service, { cause: err });
  }
  return new GatewayError("UPSTREAM_ERROR", `instance ${instance} failed: ${(err as Error)?.message ?? String(err)}`, service, { cause: err });
}
