// upstash-local is a faithful Upstash (issue 10, point 6): the official
// @upstash/redis SDK (package.json pins it), with its default options, as a
// second client of upstash-local in front of a real redis-server. Strings,
// hashes, sets, counters with TTL, pipelines, transactions, Lua scripts
// (EVAL, EVALSHA and NOSCRIPT, SCRIPT LOAD, the SDK's createScript, which
// runs EVALSHA and falls back to EVAL; Upstash's allow-key-locking flag),
// Redis errors, a refused token and the base64 reply encoding. What the SDK
// stored is read back with node-redis, straight from Redis.
//
// Some tests put a recording proxy between the SDK and upstash-local, to
// check what the SDK sends (headers, path, body) and what it was answered.
//
//   node --test --test-concurrency=1 tests/e2e/upstash-sdk.test.mjs
//
// Prerequisites: target/release/upstash-local (scripts/build.sh).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createServer, request as httpRequest } from "node:http";
import { once } from "node:events";
import { RESP_TYPES } from "redis";
import { Redis, errors } from "@upstash/redis";
import { TOKEN, startRedis, startUpstashLocal } from "../support/index.mjs";

let redis;
let upstash;
let recorder;

before(async () => {
  redis = await startRedis();
  upstash = await startUpstashLocal({ redisUrl: redis.url });
  recorder = await startRecorder(upstash.url);
});
after(async () => {
  await recorder?.stop();
  await upstash?.stop();
  await redis?.stop();
});

/** The official client on upstash-local, with its defaults unless `options` says otherwise. */
function sdk(options = {}) {
  return new Redis({ url: upstash.url, token: TOKEN, ...options });
}

/** The same, through the recording proxy; `recorder.seen` lists its requests. */
function recordedSdk(options = {}) {
  recorder.seen.length = 0;
  return new Redis({ url: recorder.url, token: TOKEN, ...options });
}

const sha1 = (text) => createHash("sha1").update(text).digest("hex");

/** The bytes Redis holds under `key`, straight from Redis. */
async function rawBytes(key) {
  return redis.client.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer }).get(key);
}

/**
 * An HTTP proxy in front of `target` that forwards every request as it
 * came (headers included, so an empty header stays empty) and records
 * { path, headers, body (parsed JSON), status, syncToken (answered) }.
 */
async function startRecorder(target) {
  const to = new URL(target);
  const seen = [];
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const body = Buffer.concat(chunks);
    const entry = { path: req.url, headers: req.headers, body: JSON.parse(body.toString("utf8") || "null") };
    seen.push(entry);
    const forward = httpRequest(
      { host: to.hostname, port: to.port, path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        entry.status = answer.statusCode;
        entry.syncToken = answer.headers["upstash-sync-token"];
        res.writeHead(answer.statusCode, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on("error", () => res.destroy());
    forward.end(body);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    seen,
    async stop() {
      const closed = new Promise((r) => server.close(r));
      server.closeAllConnections();
      await closed;
    },
  };
}

/** Asserts that `promise` rejects with the SDK's UpstashError whose message matches `re`; returns the message. */
async function rejectsWith(promise, re) {
  const err = await promise.then(
    (v) => assert.fail(`resolved with ${JSON.stringify(v)}, expected an error matching ${re}`),
    (e) => e,
  );
  assert.ok(err instanceof errors.UpstashError, `${err?.name}: ${err?.message}`);
  assert.match(err.message, re);
  return err.message;
}

// ---------------------------------------------------------------- the handshake

test("the first call carries an empty upstash-sync-token and is served; the next ones carry the token answered", async () => {
  const r = recordedSdk();
  assert.equal(await r.set("hs:a", "x"), "OK");
  assert.equal(await r.get("hs:a"), "x");
  const [first, second] = recorder.seen;
  // What the SDK sends by default (pkg/http.ts, platforms/nodejs.ts).
  assert.equal(first.headers["upstash-sync-token"], "", "an empty token, not none");
  assert.equal(first.headers["upstash-encoding"], "base64");
  assert.equal(first.headers.authorization, `Bearer ${TOKEN}`);
  assert.equal(first.headers["content-type"], "application/json");
  assert.match(first.headers["upstash-telemetry-sdk"], /^@upstash\/redis@v?\d+\.\d+\.\d+/);
  assert.match(first.headers["upstash-telemetry-runtime"], /^node@/);
  // Auto-pipelining is on by default: single commands travel as /pipeline.
  assert.equal(first.path, "/pipeline");
  assert.deepEqual(first.body, [["set", "hs:a", "x"]]);
  assert.equal(first.status, 200);
  assert.match(first.syncToken, /^\d+$/);
  assert.equal(second.headers["upstash-sync-token"], first.syncToken, "read-your-writes: the token just answered");
  assert.equal(second.status, 200);
  assert.equal(r.readYourWritesSyncToken, second.syncToken);
});

// ---------------------------------------------------------------- strings

test("strings: SET with EX, GET, GETDEL, SET NX and GET option, MSET/MGET; JSON values deserialized unless told not to", async () => {
  const r = sdk();
  assert.equal(await r.set("str:a", "hello", { ex: 60 }), "OK");
  assert.equal(await r.get("str:a"), "hello");
  const pttl = await redis.client.pTTL("str:a");
  assert.ok(pttl > 59_000 && pttl <= 60_000, `PTTL ${pttl}`);
  assert.equal(await r.set("str:a", "other", { nx: true }), null, "NX: not written");
  assert.equal(await r.set("str:a", "new", { get: true }), "hello", "GET option: the old value");
  assert.equal(await r.getdel("str:a"), "new");
  assert.equal(await redis.client.exists("str:a"), 0);
  assert.equal(await r.get("str:a"), null);

  // The SDK stores objects and numbers as JSON text and parses them back.
  await r.set("str:json", { beers: 3, name: "ipa" });
  assert.equal(await redis.client.get("str:json"), '{"beers":3,"name":"ipa"}');
  assert.deepEqual(await r.get("str:json"), { beers: 3, name: "ipa" });
  await r.set("str:n", 42);
  assert.equal(await r.get("str:n"), 42);
  const raw = sdk({ automaticDeserialization: false });
  assert.equal(await raw.get("str:n"), "42");
  assert.equal(await raw.get("str:json"), '{"beers":3,"name":"ipa"}');

  assert.equal(await r.mset({ "str:m1": "one", "str:m2": "two" }), "OK");
  assert.deepEqual(await r.mget("str:m1", "str:nope", "str:m2"), ["one", null, "two"]);
  // Status replies other than OK (TYPE, PING) come back as text.
  assert.equal(await r.type("str:m1"), "string");
  assert.equal(await r.type("str:nope"), "none");
  assert.equal(await r.ping(), "PONG");
});

// ---------------------------------------------------------------- hashes

test("hashes: HSET of an object, HGET, HGETALL, HINCRBY, HDEL, HLEN", async () => {
  const r = sdk();
  assert.equal(await r.hset("h:1", { name: "ipa", beers: 2, meta: { a: 1 } }), 3);
  assert.deepEqual(await redis.client.hGetAll("h:1"), { name: "ipa", beers: "2", meta: '{"a":1}' });
  assert.equal(await r.hget("h:1", "name"), "ipa");
  assert.deepEqual(await r.hgetall("h:1"), { name: "ipa", beers: 2, meta: { a: 1 } });
  // Without deserialization, HGETALL's reply as it came: field, value, ….
  const raw = await sdk({ automaticDeserialization: false }).hgetall("h:1");
  assert.deepEqual(raw, ["name", "ipa", "beers", "2", "meta", '{"a":1}']);
  assert.equal(await r.hincrby("h:1", "beers", 5), 7);
  assert.equal(await r.hdel("h:1", "meta"), 1);
  assert.equal(await r.hlen("h:1"), 2);
  assert.equal(await r.type("h:1"), "hash");
  assert.deepEqual(await redis.client.hGetAll("h:1"), { name: "ipa", beers: "7" });
  assert.equal(await r.hgetall("h:none"), null);
});

// ---------------------------------------------------------------- sets

test("sets: SADD, SMEMBERS, SISMEMBER, SREM, SCARD", async () => {
  const r = sdk();
  assert.equal(await r.sadd("s:1", "a", "b", "c"), 3);
  assert.equal(await r.sadd("s:1", "a"), 0);
  assert.deepEqual((await r.smembers("s:1")).sort(), ["a", "b", "c"]);
  assert.equal(await r.sismember("s:1", "b"), 1);
  assert.equal(await r.sismember("s:1", "z"), 0);
  assert.equal(await r.srem("s:1", "b", "z"), 1);
  assert.equal(await r.scard("s:1"), 2);
  assert.equal(await r.type("s:1"), "set");
  assert.deepEqual((await redis.client.sMembers("s:1")).sort(), ["a", "c"]);
});

// ---------------------------------------------------------------- counters

test("counters with TTL: INCR, EXPIRE (and NX), PTTL, INCRBY, DECR; the TTL stays on INCR", async () => {
  const r = sdk();
  assert.equal(await r.incr("c:1"), 1);
  assert.equal(await r.pttl("c:1"), -1, "no TTL yet");
  assert.equal(await r.expire("c:1", 60), 1);
  const pttl = await r.pttl("c:1");
  assert.ok(pttl > 59_000 && pttl <= 60_000, `PTTL ${pttl}`);
  assert.equal(await r.expire("c:1", 5, "NX"), 0, "NX: a TTL is already set");
  assert.equal(await r.incr("c:1"), 2);
  assert.equal(await r.incrby("c:1", 10), 12);
  assert.equal(await r.decr("c:1"), 11);
  const after = await redis.client.pTTL("c:1");
  assert.ok(after > 55_000 && after <= pttl, `the TTL is kept: ${after}`);
  assert.equal(await redis.client.get("c:1"), "11");
  const ttl = await r.ttl("c:1");
  assert.ok(ttl >= 55 && ttl <= 60, `TTL ${ttl}`);
  assert.equal(await r.pttl("c:none"), -2);
});

// ---------------------------------------------------------------- pipeline

test("pipeline: one /pipeline request, results in order; an error in it fails that command only", async () => {
  const r = recordedSdk();
  const results = await r.pipeline().set("p:a", "1", { ex: 60 }).incr("p:a").get("p:a").hset("p:h", { f: "v" }).exec();
  assert.deepEqual(results, ["OK", 2, 2, 1]);
  assert.equal(recorder.seen.length, 1);
  assert.equal(recorder.seen[0].path, "/pipeline");
  assert.deepEqual(recorder.seen[0].body, [
    ["set", "p:a", "1", "ex", 60],
    ["incr", "p:a"],
    ["get", "p:a"],
    ["hset", "p:h", "f", "v"],
  ]);

  // An error inside: exec() throws naming the command; the others ran.
  const failing = () => r.pipeline().set("p:b", "x").incr("p:b").set("p:c", "y");
  await rejectsWith(failing().exec(), /^Command 2 \[ incr \] failed: ERR value is not an integer or out of range$/);
  assert.equal(await redis.client.get("p:c"), "y", "the command after the error ran");
  // With keepErrors, each command's own envelope.
  assert.deepEqual(await failing().exec({ keepErrors: true }), [
    { result: "OK", error: undefined },
    { result: undefined, error: "ERR value is not an integer or out of range" },
    { result: "OK", error: undefined },
  ]);
  const last = recorder.seen.at(-1);
  assert.equal(last.status, 200, "an error inside a pipeline is that command's envelope, not the answer's status");

  // Auto-pipelining: commands issued together share one request; one's
  // error rejects only its own promise.
  recorder.seen.length = 0;
  const settled = await Promise.allSettled([r.incr("p:n"), r.hget("p:h", "f"), r.incr("p:h"), r.incr("p:n")]);
  assert.equal(recorder.seen.length, 2, "one pipeline of writes, one of reads");
  assert.deepEqual(settled.map((s) => s.value ?? s.reason.message), [
    1,
    "v",
    "Command failed: WRONGTYPE Operation against a key holding the wrong kind of value",
    2,
  ]);
});

// ---------------------------------------------------------------- multi-exec

test("multi-exec: one /multi-exec transaction; a runtime error fails one command, a queue-time error discards all", async () => {
  const r = recordedSdk();
  assert.deepEqual(await r.multi().set("m:a", 1).incr("m:a").get("m:a").exec(), ["OK", 2, 2]);
  assert.equal(recorder.seen[0].path, "/multi-exec");
  assert.deepEqual(recorder.seen[0].body, [["set", "m:a", 1], ["incr", "m:a"], ["get", "m:a"]]);

  // A command failing when it runs: the others run (Redis's transactions).
  await rejectsWith(
    r.multi().set("m:b", "x").incr("m:b").set("m:c", "y").exec(),
    /^Command 2 \[ incr \] failed: ERR value is not an integer or out of range$/,
  );
  assert.equal(await redis.client.get("m:c"), "y");
  // A command Redis refuses when queued (HSET with no field): the whole
  // transaction is discarded, one error for the request.
  const message = await rejectsWith(r.multi().set("m:d", "z").hset("m:h", {}).exec(), /^EXECABORT /);
  assert.match(message, /command was: \[\["set","m:d","z"\],\["hset","m:h"\]\]$/);
  assert.equal(recorder.seen.at(-1).status, 400);
  assert.equal(await redis.client.exists("m:d"), 0, "nothing of it ran");
});

// ---------------------------------------------------------------- scripts

test("scripts: EVAL, EVALSHA of an unknown script (NOSCRIPT), SCRIPT LOAD then EVALSHA, SCRIPT EXISTS, a status reply", async () => {
  const r = sdk();
  const text = "redis.call('SET', KEYS[1], ARGV[1]) return redis.call('GET', KEYS[1])";
  assert.equal(await r.eval(text, ["sc:a"], ["one"]), "one");
  assert.equal(await redis.client.get("sc:a"), "one");

  const unknown = "return 'never loaded'";
  await rejectsWith(r.evalsha(sha1(unknown), [], []), /^Command failed: NOSCRIPT No matching script\. Please use EVAL\.$/);
  assert.equal(await r.scriptLoad(unknown), sha1(unknown));
  assert.equal(await r.evalsha(sha1(unknown), [], []), "never loaded");
  assert.deepEqual(await r.scriptExists(sha1(unknown), sha1("return 'no'")), [1, 0]);

  // Read-only variants, and a script's own status reply (base64 too).
  const ro = "return redis.call('GET', KEYS[1])";
  assert.equal(await r.evalRo(ro, ["sc:a"], []), "one");
  assert.equal(await r.eval("return redis.status_reply('FINE')", [], []), "FINE");
});

test("createScript: EVALSHA first, EVAL after NOSCRIPT, then EVALSHA alone; readonly scripts the same with _RO", async () => {
  const r = recordedSdk();
  const script = r.createScript("return redis.call('INCRBY', KEYS[1], ARGV[1])");
  assert.equal(await script.exec(["cs:n"], ["5"]), 5);
  assert.equal(await script.exec(["cs:n"], ["2"]), 7);
  const sent = recorder.seen.map((s) => s.body[0][0]);
  assert.deepEqual(sent, ["evalsha", "eval", "evalsha"]);
  assert.equal(recorder.seen[0].body[0][1], sha1(script.script));
  assert.equal(await redis.client.get("cs:n"), "7");

  recorder.seen.length = 0;
  const ro = r.createScript("return redis.call('GET', KEYS[1]) -- createScript", { readonly: true });
  assert.equal(await ro.exec(["cs:n"], []), 7);
  assert.equal(await ro.exec(["cs:n"], []), 7);
  assert.deepEqual(recorder.seen.map((s) => s.body[0][0]), ["evalsha_ro", "eval_ro", "evalsha_ro"]);
});

test("allow-key-locking: a script declaring its keys runs by createScript; an undeclared key is refused with Upstash's error, nothing written", async () => {
  const r = recordedSdk();
  const locked = r.createScript(
    "#!lua flags=allow-key-locking\nredis.call('SET', KEYS[1], ARGV[1])\nreturn redis.call('GET', KEYS[1])",
  );
  assert.equal(await locked.exec(["kl:a"], ["v1"]), "v1");
  assert.equal(await locked.exec(["kl:a"], ["v2"]), "v2");
  assert.deepEqual(recorder.seen.map((s) => s.body[0][0]), ["evalsha", "eval", "evalsha"], "the SHA1 of the SDK's text works");
  assert.equal(await redis.client.get("kl:a"), "v2");

  const sneaky = r.createScript(
    "#!lua flags=allow-key-locking\nredis.call('SET', KEYS[1], 'x')\nredis.call('SET', 'kl:other', 'y')\nreturn 1",
  );
  await rejectsWith(
    sneaky.exec(["kl:b"], []),
    /^Command failed: ERR Dynamic keys are not allowed in Lua scripts when 'allow-key-locking' flag is set\. Key was: kl:other script: [0-9a-f]{40}, on @user_script:2\.$/,
  );
  assert.equal(await redis.client.exists("kl:other"), 0, "the undeclared key is not written");
  // The command before it ran, as in Redis (a script is not rolled back).
  assert.equal(await redis.client.get("kl:b"), "x");
});

// ---------------------------------------------------------------- errors

test("errors: WRONGTYPE from a command on / (400) and inside a pipeline (its envelope); without auto-pipelining", async () => {
  await redis.client.set("e:str", "text");
  const r = recordedSdk();
  // HGETALL bypasses auto-pipelining: a single command on /, answered 400.
  const single = await rejectsWith(r.hgetall("e:str"), /^WRONGTYPE Operation against a key holding the wrong kind of value, command was: /);
  assert.match(single, /command was: \["hgetall","e:str"\]$/);
  assert.equal(recorder.seen.at(-1).path, "/");
  assert.equal(recorder.seen.at(-1).status, 400);
  // Auto-pipelined: that command's envelope.
  await rejectsWith(r.hset("e:str", { f: "v" }), /^Command failed: WRONGTYPE Operation against a key holding the wrong kind of value$/);
  // Without auto-pipelining every command goes to /.
  const plain = sdk({ enableAutoPipelining: false });
  await rejectsWith(plain.incr("e:str"), /^ERR value is not an integer or out of range, command was: \["incr","e:str"\]$/);
  await rejectsWith(plain.sadd("e:str", "m"), /^WRONGTYPE /);
  assert.equal(await redis.client.get("e:str"), "text", "nothing changed");
});

// ---------------------------------------------------------------- auth

test("auth failures: a wrong token is refused (401) and nothing runs; the SDK does not retry it", async () => {
  const r = recordedSdk({ token: "not-the-token" });
  await rejectsWith(r.set("auth:a", "x"), /^Invalid token, command was: \[\["set","auth:a","x"\]\]$/);
  assert.equal(recorder.seen.length, 1, "HTTP errors are not retried");
  assert.equal(recorder.seen[0].status, 401);
  await rejectsWith(recordedSdk({ token: "not-the-token" }).hgetall("auth:h"), /^Invalid token, command was: /);
  assert.equal(recorder.seen[0].path, "/");
  assert.equal(await redis.client.exists("auth:a"), 0);
  // A right token on the same server works at once.
  assert.equal(await sdk().set("auth:a", "y"), "OK");
});

// ---------------------------------------------------------------- encoding

/** Values whose text a plain JSON reply or a careless decoder could change. */
const AWKWARD = {
  "enc:accents": "crème brûlée",
  "enc:emoji": "🍺 beer 🍻",
  "enc:cjk": "啤酒",
  "enc:controls": "nul\u0000tab\tnewline\nquote\"backslash\\",
  "enc:separators": "line\u2028para\u2029",
  "enc:replacement": "\ufffd",
  "enc:ok": "OK",
  "enc:looks-base64": "YmFy",
  "enc:json-ish": '{"not":"parsed"}',
  "enc:number-ish": "007",
};

test("base64 replies (the default): every value comes back as it was stored, byte for byte in Redis", async () => {
  const r = recordedSdk({ automaticDeserialization: false });
  for (const [key, value] of Object.entries(AWKWARD)) {
    assert.equal(await r.set(key, value), "OK");
    assert.deepEqual(await rawBytes(key), Buffer.from(value, "utf8"), key);
    assert.equal(await r.get(key), value, key);
  }
  assert.ok(recorder.seen.every((s) => s.headers["upstash-encoding"] === "base64"));
  assert.deepEqual(await r.mget(...Object.keys(AWKWARD)), Object.values(AWKWARD));
  await r.hset("enc:h", { "🍺": "crème", ok: "OK" });
  assert.deepEqual(await r.hgetall("enc:h"), ["🍺", "crème", "ok", "OK"]);
  // Bytes that are not UTF-8 (written by another client) reach the SDK
  // decoded as UTF-8: each bad byte is U+FFFD.
  await redis.client.set("enc:bytes", Buffer.from([0xff, 0xfe, 0x41]));
  assert.equal(await r.get("enc:bytes"), "\ufffd\ufffdA");
});

test("responseEncoding: false: no Upstash-Encoding header, plain JSON replies, the same values", async () => {
  const r = recordedSdk({ responseEncoding: false, automaticDeserialization: false });
  for (const [key, value] of Object.entries(AWKWARD)) {
    assert.equal(await r.set(`plain:${key}`, value), "OK");
    assert.deepEqual(await rawBytes(`plain:${key}`), Buffer.from(value, "utf8"), key);
    assert.equal(await r.get(`plain:${key}`), value, key);
  }
  assert.ok(recorder.seen.every((s) => !("upstash-encoding" in s.headers)));
  assert.equal(await r.type("plain:enc:ok"), "string");
  assert.equal(await r.ping(), "PONG");
  // As Upstash documents, a reply that is not UTF-8 has U+FFFD in place.
  await redis.client.set("plain:bytes", Buffer.from([0xff, 0xfe, 0x41]));
  assert.equal(await r.get("plain:bytes"), "\ufffd\ufffdA");
});
