// Container HEALTHCHECK for the gateway and serviceweb images.
//
//   node /app/healthcheck.mjs <PORT_ENV_VAR> <path>
//
// Asks http://127.0.0.1:$PORT_ENV_VAR<path> (port 3000 when the variable is
// unset) and exits 0 when the server answers with a status below 500, 1 when it
// answers 5xx, refuses the connection or takes longer than two seconds. It
// uses Node's global fetch because the slim base image has neither curl nor wget.
const [portVar, path = '/'] = process.argv.slice(2);
if (!portVar) {
  console.error('usage: node healthcheck.mjs <PORT_ENV_VAR> [path]');
  process.exit(1);
}
const port = process.env[portVar] || '3000';
const url = `http://127.0.0.1:${port}${path}`;
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  await res.body?.cancel();
  process.exit(res.status < 500 ? 0 : 1);
} catch (err) {
  console.error(`healthcheck: ${url}: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
