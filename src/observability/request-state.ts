import type { EjectionReason } from "../routing/outlier-detector.js";

/**
 * What the proxy handler records about a request in `ctx.state`, for the
 * request observer (metrics, access log) to read once the request is done.
 * The handler only sets fields; it knows nothing of who reads them.
 */
export interface ProxyRequestState {
  /** The service the request routes to (its path, a prefix route or header routing), once the router found it. */
  service?: string;
  /** The key (node/service ID) of the instance the request was sent to (after retries, the last one). */
  instance?: string;
  /** performance.now() when the request was first sent to an instance. */
  upstreamStartedAt?: number;
  /** Attempts in all, the first included (retries = attempts - 1); the retry loop sets it. */
  attempts?: number;
  /** The failed attempt's detail (instance id, address, cause) that the error body leaves out; set by errorMiddleware. */
  errorDetail?: string;
  /** Instances that passive health checking took out of rotation during this request, by the trigger that did. */
  ejections?: EjectionReason[];
  /** Bytes sent to the client on an upgraded connection, which the proxy writes to the socket itself. */
  upgradedBytes?: number;
  /** A gRPC answer's grpc-status (its HTTP status is 200 whatever the outcome); counted by what it stands for. */
  grpcStatus?: string;
}
