import { Readable } from "node:stream";
import type { IncomingMessage } from "node:http";
import { GatewayError } from "../errors.js";

/**
 * The client's request body, handed to one upstream attempt. Nothing is read
 * from the client until the upstream connection asks for the first chunk, so
 * an attempt that failed to connect leaves the body untouched and a retry on
 * another instance can take it whole. Once `started`, the body belongs to that
 * attempt and cannot be replayed.
 *
 * Destroying this stream (undici does on a failed attempt) detaches it from
 * the client's request without destroying that request.
 */
export class LazyBody extends Readable {
  started = false;
  private attached = false;
  private bytes = 0;

  /** `maxBytes` (0: none) bounds a body whose size was not declared; past it the attempt fails with 413. */
  constructor(
    private readonly source: IncomingMessage,
    private readonly maxBytes = 0,
  ) {
    super();
  }

  override _read(): void {
    if (!this.attached) {
      this.attached = true;
      this.source.on("data", this.onData);
      this.source.once("end", this.onEnd);
      this.source.once("error", this.onError);
    }
    this.source.resume();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.detach();
    this.source.pause();
    callback(err);
  }

  private readonly onData = (chunk: Buffer): void => {
    this.started = true;
    this.bytes += chunk.length;
    if (this.maxBytes > 0 && this.bytes > this.maxBytes) {
      this.destroy(new GatewayError("PAYLOAD_TOO_LARGE", `the body is larger than ${this.maxBytes} bytes`));
      return;
    }
    if (!this.push(chunk)) this.source.pause();
  };

  private readonly onEnd = (): void => {
    this.detach();
    this.push(null);
  };

  private readonly onError = (err: Error): void => {
    this.destroy(err);
  };

  private detach(): void {
    this.source.off("data", this.onData);
    this.source.off("end", this.onEnd);
    this.source.off("error", this.onError);
  }
}
