import { test } from "node:test";
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import type { IncomingMessage } from "node:http";
import { LazyBody } from "../../src/proxy/lazy-body.js";

function source(): PassThrough & IncomingMessage {
  const stream = new PassThrough();
  stream.pause();
  return stream as unknown as PassThrough & IncomingMessage;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let out = "";
  for await (const chunk of stream) out += String(chunk);
  return out;
}

test("nothing is read from the client until the body is pulled", () => {
  const client = source();
  client.write("hello");
  const body = new LazyBody(client);
  assert.equal(body.started, false);
  assert.equal(client.readableLength, 5, "still buffered in the client request");
});

test("a body destroyed before it was pulled leaves the request whole for the next attempt", async () => {
  const client = source();
  client.write("hello ");
  const first = new LazyBody(client);
  first.on("error", () => {}); // undici listens; the attempt's failure is handled there
  first.destroy(new Error("connect ECONNREFUSED"));
  assert.equal(client.destroyed, false);
  const second = new LazyBody(client);
  client.end("world");
  assert.equal(await readAll(second), "hello world");
  assert.equal(second.started, true);
});

test("an error of the client request ends the body with that error", async () => {
  const client = source();
  const body = new LazyBody(client);
  const reading = readAll(body);
  client.destroy(new Error("client went away"));
  await assert.rejects(reading, /client went away/);
});
