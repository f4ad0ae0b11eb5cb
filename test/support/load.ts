/**
 * Steady, bounded load on loopback for the fault-injection tests: a few
 * workers each sending one request after another over keep-alive, until
 * stopped or a hard cap on time is reached.
 */
import { Agent } from "node:http";
import superagent from "superagent";

export interface LoadReport {
  sent: number;
  failed: number;
  /** The longest stretch without a successful answer, in ms. */
  longestGapMs: number;
  /** A few failures, for the report. */
  samples: string[];
}

export interface LoadOptions {
  concurrency: number;
  method?: "GET" | "POST";
  body?: Buffer;
  /** A worker stops by itself after this long, whatever happens. */
  capMs?: number;
}

export class SteadyLoad {
  private running = true;
  private readonly workers: Promise<void>[] = [];
  private readonly okTimes: number[] = [];
  private sent = 0;
  private failed = 0;
  private readonly samples: string[] = [];
  private readonly agent = new Agent({ keepAlive: true });
  private readonly startedAt = Date.now();

  constructor(
    private readonly url: string,
    private readonly options: LoadOptions,
  ) {
    for (let i = 0; i < options.concurrency; i++) this.workers.push(this.work());
  }

  private async work(): Promise<void> {
    const cap = this.startedAt + (this.options.capMs ?? 120_000);
    while (this.running && Date.now() < cap) {
      this.sent += 1;
      try {
        // buffer(true): read every answer to its end, so that one cut midway counts as failed. superagent
        // leaves binary answers (the echo's octet-stream) unbuffered otherwise, resolves at their headers
        // and has no error listener on the rest: a cut body then threw an uncaught ECONNRESET.
        const request = superagent(this.options.method ?? "GET", this.url).agent(this.agent).buffer(true).timeout(10_000).ok(() => true);
        const res = await (this.options.body ? request.set("content-type", "application/octet-stream").send(this.options.body) : request);
        if (res.status < 500) this.okTimes.push(Date.now());
        else this.fail(`${res.status} ${JSON.stringify(res.body).slice(0, 120)}`);
      } catch (err) {
        this.fail((err as { code?: string }).code ?? (err as Error).message);
        // A refused connection answers at once: do not spin on it.
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
  }

  private fail(what: string): void {
    this.failed += 1;
    if (this.samples.length < 5) this.samples.push(what);
  }

  async stop(): Promise<LoadReport> {
    this.running = false;
    await Promise.all(this.workers);
    const stoppedAt = Date.now();
    this.agent.destroy();
    const times = [this.startedAt, ...this.okTimes.sort((a, b) => a - b), stoppedAt];
    let longestGapMs = 0;
    for (let i = 1; i < times.length; i++) longestGapMs = Math.max(longestGapMs, times[i]! - times[i - 1]!);
    return { sent: this.sent, failed: this.failed, longestGapMs, samples: this.samples };
  }
}
