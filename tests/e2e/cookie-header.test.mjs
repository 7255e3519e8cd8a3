// How the session cookie is found in the Cookie header, recorded from the
// real express-session on Node and replayed on the worker: a Cookie header
// sent as several lines (issue "Node's bytes, exactly", point 5). Node joins
// repeated Cookie lines with "; "; workerd joins repeated fields with ", "
// (the Fetch standard), and HTTP/2 clients split cookies into several
// fields. Whatever the split, the session is found, and a single
// well-formed header reads as before.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { once } from "node:events";
import { startStack, cookiePair, setCookieLines, sidOf } from "../support/index.mjs";
import { startExpress } from "../fixtures/express-app.mjs";

let stack;
let express;

before(async () => {
  stack = await startStack();
  express = await startExpress({ redisUrl: stack.redis.url });
});
after(async () => {
  await express?.stop();
  await stack?.stop();
});

/** A GET with the header lines exactly as given, over a raw socket, to Node. */
async function rawGet(baseUrl, path, headerLines) {
  const { hostname, port } = new URL(baseUrl);
  const socket = connect(Number(port), hostname);
  await once(socket, "connect");
  socket.write([`GET ${path} HTTP/1.1`, `Host: ${hostname}:${port}`, "Connection: close", ...headerLines, "", ""].join("\r\n"));
  let text = "";
  socket.setEncoding("utf8");
  socket.on("data", (d) => (text += d));
  await once(socket, "end");
  const [head, body] = text.split("\r\n\r\n");
  return { head, body: JSON.parse(body.replace(/^[0-9a-f]+\r\n/, "").replace(/\r\n0\r\n$/, "")) };
}

/** A session made by the worker, its id and its cookie pair. */
async function workerSession() {
  const res = await stack.worker.fetch("/api/session");
  const pair = cookiePair(setCookieLines(res)[0]);
  return { pair, sid: sidOf(pair) };
}

test("Node (recorded): two Cookie lines still find the session, the first session cookie wins", async () => {
  const { pair, sid } = await workerSession();
  const split = await rawGet(express.url, "/api/session", ["Cookie: theme=dark", `Cookie: ${pair}`]);
  assert.equal(split.body.sessionID, sid, "express-session found the session across two lines");
  assert.doesNotMatch(split.head, /set-cookie/i, "an unchanged session sends no cookie");
  const other = await workerSession();
  const twice = await rawGet(express.url, "/api/session", [`Cookie: ${pair}`, `Cookie: ${other.pair}`]);
  assert.equal(twice.body.sessionID, sid, "the first line's session cookie wins");
});

test("worker: the same two lines, as workerd hands them over (joined with ', '), find the same session", async () => {
  // workerd joins repeated request header fields with ", " (Fetch's
  // "combine"); undici in this process would join Cookie with "; ", so the
  // joined value is sent as the worker receives it.
  const { pair, sid } = await workerSession();
  const res = await stack.worker.fetch("/api/session", { headers: { Cookie: `theme=dark, ${pair}` } });
  assert.equal((await res.json()).sessionID, sid);
  assert.deepEqual(setCookieLines(res), [], "no new cookie overwrites the user's");

  const other = await workerSession();
  const first = await stack.worker.fetch("/api/session", { headers: { Cookie: `${pair}, ${other.pair}` } });
  assert.equal((await first.json()).sessionID, sid, "the first field's session cookie wins, as on Node");
});

test("worker: HTTP/2-style fields joined with '; ' and a single well-formed header read as before", async () => {
  const { pair, sid } = await workerSession();
  for (const cookie of [`theme=dark; ${pair}`, `${pair}; theme=dark`, pair]) {
    const res = await stack.worker.fetch("/api/session", { headers: { Cookie: cookie } });
    assert.equal((await res.json()).sessionID, sid, cookie);
  }
});
