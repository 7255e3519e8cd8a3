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
import signature from "cookie-signature";
import { startStack, cookiePair, setCookieLines, sidOf, SECRET } from "../support/index.mjs";
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

/**
 * A GET with the header lines exactly as given, over a raw socket: each
 * character one byte (Latin-1), so a line can carry a byte that is not
 * UTF-8. The answer is read as UTF-8 JSON.
 */
async function rawGet(baseUrl, path, headerLines) {
  const { hostname, port } = new URL(baseUrl);
  const socket = connect(Number(port), hostname);
  await once(socket, "connect");
  const request = [`GET ${path} HTTP/1.1`, `Host: ${hostname}:${port}`, "Connection: close", ...headerLines, "", ""];
  socket.write(Buffer.from(request.join("\r\n"), "latin1"));
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

test("deliberate difference: an unencoded non-ASCII byte in the Cookie header (é as 0xE9) is Latin-1 to Node, not to workerd", async () => {
  // A session whose id has a non-ASCII character, sent unencoded (browsers
  // and express-session always percent-encode; RFC 6265 §4.1.1 allows only
  // ASCII cookie-octets). Node reads header bytes as Latin-1 and finds it;
  // workerd hands the worker a value that no longer holds 0xE9, so the
  // worker starts a new session, never looking up another key.
  const sid = "abc\u00e9";
  const expires = new Date(Date.now() + 60_000).toISOString();
  const doc = JSON.stringify({ cookie: { originalMaxAge: 60000, expires, secure: false, httpOnly: true, path: "/" }, views: 5 });
  await stack.redis.client.set(`sess:${sid}`, doc, { EX: 60 });
  const cookie = `_redisDemo=s:${signature.sign(sid, SECRET)}`;
  const node = await rawGet(express.url, "/api/session", [`Cookie: ${cookie}`]);
  assert.equal(node.body.sessionID, sid, "express-session finds it");
  const worker = await rawGet(stack.worker.url, "/api/session", [`Cookie: ${cookie}`]);
  assert.notEqual(worker.body.sessionID, sid, "the worker starts a new session");
  assert.equal(await stack.redis.client.get(`sess:${sid}`), doc, "the stored session is untouched");
});
