/**
 * Opens `count` WebSocket connections to `url` (in batches, so the handshakes
 * do not all start at once) and keeps them open and silent until SIGTERM.
 * Prints "open <n>" when done, or "failed <n> <message>" at the first failure.
 * A process of its own, started with a raised `ulimit -n`, so that the bench
 * process does not need thousands of descriptors.
 */
import WebSocket from "ws";

const [url, countArg] = process.argv.slice(2);
const count = Number(countArg);
const BATCH = 200;
const sockets: WebSocket[] = [];

function open(): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url!, { perMessageDeflate: false });
    socket.once("open", () => resolve(socket));
    socket.once("error", reject);
    socket.once("unexpected-response", (_req, res) => reject(new Error(`handshake answered ${res.statusCode}`)));
  });
}

try {
  for (let done = 0; done < count; done += BATCH) {
    const batch = await Promise.all(Array.from({ length: Math.min(BATCH, count - done) }, open));
    sockets.push(...batch);
  }
  console.log(`open ${sockets.length}`);
} catch (err) {
  console.log(`failed ${sockets.length} ${(err as Error).message}`);
}
process.on("SIGTERM", () => {
  for (const socket of sockets) socket.terminate();
  process.exit(0);
});
setInterval(() => {}, 60_000);
