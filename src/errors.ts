/**
 * Every failure the gateway answers with. One class, a stable `code` per kind,
 * and one middleware (error-middleware.ts) that turns it into the JSON shape
 * {"error":{"code","message","service"}}.
 */
export type GatewayErrorCode =
  | "BAD_REQUEST"
  | "REQUEST_TIMEOUT"
  | "PAYLOAD_TOO_LARGE"
  | "URI_TOO_LONG"
  | "REQUEST_HEADERS_TOO_LARGE"
  | "INVALID_SERVICE_NAME"
  | "INVALID_PATH"
  | "ROUTE_NOT_FOUND"
  | "UNKNOWN_SERVICE"
  | "NO_HEALTHY_INSTANCE"
  | "DISCOVERY_TIMEOUT"
  | "UPSTREAM_UNREACHABLE"
  | "UPSTREAM_TIMEOUT"
  | "UPSTREAM_ERROR"
  | "TOO_MANY_STREAMS"
  | "INTERNAL_ERROR";

const STATUS_BY_CODE: Readonly<Record<GatewayErrorCode, number>> = {
  BAD_REQUEST: 400,
  REQUEST_TIMEOUT: 408,
  PAYLOAD_TOO_LARGE: 413,
  URI_TOO_LONG: 414,
  REQUEST_HEADERS_TOO_LARGE: 431,
  INVALID_SERVICE_NAME: 400,
  INVALID_PATH: 400,
  ROUTE_NOT_FOUND: 404,
  UNKNOWN_SERVICE: 404,
  NO_HEALTHY_INSTANCE: 503,
  DISCOVERY_TIMEOUT: 503,
  UPSTREAM_UNREACHABLE: 502,
  UPSTREAM_TIMEOUT: 504,
  UPSTREAM_ERROR: 502,
  TOO_MANY_STREAMS: 503,
  INTERNAL_ERROR: 500,
};

export class GatewayError extends Error {
  readonly status: number;

  constructor(
    readonly code: GatewayErrorCode,
    message: string,
    readonly service?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "GatewayError";
    this.status = STATUS_BY_CODE[code];
  }

  toJSON(): { error: { code: GatewayErrorCode; message: string; service?: string } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.service === undefined ? {} : { service: this.service }),
      },
    };
  }
}
