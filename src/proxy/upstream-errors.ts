import { GatewayError } from "../errors.js";
import { classifyFailure, failureCode } from "./retry-policy.js";

const TIMEOUT = new Set(["UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "ETIMEDOUT"]);

/** The instance that failed, as the access log names it. */
export interface FailedInstance {
  readonly id: string;
  readonly address: string;
  readonly port: number;
}

/**
 * What a failure to get an instance's response headers means for the client.
 * The message names the service only: an instance's id, address and port
 * would map the inside for whoever sends a request. They go in `detail`, for
 * the access log.
 */
export function toGatewayError(err: unknown, service: string, instance: FailedInstance): GatewayError {
  const code = failureCode(err);
  const detail = `instance ${instance.id} at ${instance.address}:${instance.port}: ${(err as Error)?.message ?? String(err)}${code === undefined ? "" : ` (${code})`}`;
  if (code === "UND_ERR_HEADERS_OVERFLOW") {
    return new GatewayError("UPSTREAM_HEADERS_TOO_LARGE", "the instance's response headers are larger than the gateway accepts (GATEWAY_MAX_RESPONSE_HEADER_BYTES)", service, { cause: err, detail });
  }
  if (code !== undefined && TIMEOUT.has(code)) {
    return new GatewayError("UPSTREAM_TIMEOUT", `an instance of the service did not answer in time (${code})`, service, { cause: err, detail });
  }
  if (classifyFailure(err) !== "other") {
    return new GatewayError("UPSTREAM_UNREACHABLE", `an instance of the service could not be reached (${code})`, service, { cause: err, detail });
  }
  return new GatewayError("UPSTREAM_ERROR", `an instance of the service failed${code === undefined ? "" : ` (${code})`}`, service, { cause: err, detail });
}
