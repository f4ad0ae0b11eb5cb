/**
 * Requests that Node's HTTP parser refuses before Koa sees them (malformed
 * request lines, bad methods, oversized headers, conflicting Content-Length
 * and Transfer-Encoding, slow clients) are answered here, in the same JSON
 * shape as every other gateway error, and the connection is closed.
 */
import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import createDebug from "debug";
import { GatewayError } from "../errors.js";

const debug = createDebug("gateway:client");

function toGatewayError(err: Error & { code?: string; reason?: string }): GatewayError {
  switch (err.code) {
    case "HPE_HEADER_OVERFLOW":
      return new GatewayError("REQUEST_HEADERS_TOO_LARGE", "the request line and headers exceed the size limit");
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return new GatewayError("REQUEST_TIMEOUT", "the request was not received in time");
    default:
      return new GatewayError("BAD_REQUEST", `malformed request: ${err.reason ?? err.code ?? err.message}`);
  }
}

export function answerClientError(err: Error & { code?: string; reason?: string }, socket: Duplex): void {
  // A client that hung up or reset has nobody left to answer.
  if (err.code === "ECONNRESET" || !socket.writable) {
    socket.destroy();
    return;
  }
  const error = toGatewayError(err);
  debug("refused a request: %s (%s)", error.code, err.code);
  const body = JSON.stringify(error.toJSON());
  socket.end(
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status]}\r\n` +
      `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
