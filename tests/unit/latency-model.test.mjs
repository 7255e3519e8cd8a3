// The arithmetic of bench/latency-model.mjs (issue 14, target 5), with
// round inputs so each expected time can be added up by hand, and its
// round trips checked against the shared table the end-to-end test asserts.

import { test } from "node:test";
import assert from "node:assert/strict";
import { BUDGET, CALLS } from "../support/round-trips.mjs";
import { KINDS, REGIONS, isReadOnlyCall, parseArgs, render, requestTime, workerCalls, coldConnectionMs } from "../../bench/latency-model.mjs";

const cpu = { worker: { read: 1, pour: 2, login: 10 }, express: { read: 0.5, pour: 0.5, login: 5 } };
const assumptions = { lastMileMs: 10, sameMetroMs: 2, redisInRegionMs: 0.5, upstashServiceMs: 1, replicaWaitMs: 0 };
const far = { name: "Far", awsRegion: "xx-far-1", replicaRegion: "xx-far-1", toUsEast1Ms: 100 };
const home = { name: "Home", awsRegion: "us-east-1", replicaRegion: "us-east-1", toUsEast1Ms: null };

test("the model's request kinds take their calls from the shared table, and the budget agrees", () => {
  assert.deepEqual(workerCalls("read"), CALLS["read, valid cookie"]);
  assert.deepEqual(workerCalls("pour"), CALLS.pour);
  assert.deepEqual(workerCalls("login"), CALLS["login: a first login"]);
  assert.equal(workerCalls("read").length, BUDGET["read, valid cookie"]);
  assert.equal(workerCalls("pour").length, BUDGET.pour);
  assert.equal(workerCalls("login").length, BUDGET.login);
  assert.throws(() => workerCalls("logout"), /unknown request kind/);
});

test("a call goes to a read replica only when every command in it only reads", () => {
  assert.equal(isReadOnlyCall(["GET"]), true);
  assert.equal(isReadOnlyCall(["GET", "SMEMBERS", "SISMEMBER", "PTTL"]), true);
  assert.equal(isReadOnlyCall(["EVALSHA"]), false);
  assert.equal(isReadOnlyCall(["GET", "INCR", "EXPIRE", "PTTL"]), false);
  assert.deepEqual(workerCalls("login").map(isReadOnlyCall), [false, false], "the login's rate-limit hits make both its calls writes");
});

test("a read far from us-east-1: one user round trip to Express, one store round trip from the edge, a replica next door", () => {
  const t = requestTime(far, "read", { cpu, assumptions });
  // (a) 10 + 100 to us-east-1, 0.5 CPU, GET and EXPIRE at 0.5 each.
  assert.equal(t.a, 10 + 100 + 0.5 + 2 * 0.5);
  // (b) 10 to the edge, 1 CPU, the GET to us-east-1 with Upstash's 1.
  assert.equal(t.b, 10 + 1 + (100 + 1));
  // (c) the GET at the replica in the same metro.
  assert.equal(t.c, 10 + 1 + (2 + 1));
});

test("a pour on a Global database reads at the replica and writes through it to the primary", () => {
  const t = requestTime(far, "pour", { cpu, assumptions });
  assert.equal(t.a, 10 + 100 + 0.5 + 2 * 0.5);
  assert.equal(t.b, 10 + 2 + 2 * (100 + 1));
  assert.equal(t.c, 10 + 2 + (2 + 1) + (2 + 100 + 1));
});

test("a login's two calls both go to the primary; Express's five Redis calls stay in its region", () => {
  const t = requestTime(far, "login", { cpu, assumptions });
  assert.equal(t.a, 10 + 100 + 5 + 5 * 0.5);
  assert.equal(t.b, 10 + 10 + 2 * (100 + 1));
  assert.equal(t.c, 10 + 10 + 2 * (2 + 100 + 1));
});

test("in us-east-1's own metro the replica is the primary: (b) and (c) agree", () => {
  for (const { kind } of KINDS) {
    const t = requestTime(home, kind, { cpu, assumptions });
    assert.equal(t.b, t.c, kind);
  }
  assert.equal(requestTime(home, "read", { cpu, assumptions }).b, 10 + 1 + (2 + 1));
});

test("a new browser connection costs two round trips on the user's own path", () => {
  assert.deepEqual(coldConnectionMs(far, assumptions), { a: 2 * 110, bc: 20 });
});

test("the command line replaces a CPU input, a round trip or the last mile, and refuses anything else", () => {
  const parsed = parseArgs(["--cpu", "worker.read=0.9", "--cpu=express.login=6", "--rtt", "Sydney=198", "--last-mile=20"]);
  assert.equal(parsed.cpu.worker.read, 0.9);
  assert.equal(parsed.cpu.express.login, 6);
  assert.equal(parsed.cpu.worker.pour, 1.94, "the others keep their defaults");
  const sydney = parsed.regions.find((r) => r.name === "Sydney");
  assert.equal(sydney.toUsEast1Ms, 198);
  assert.equal(REGIONS.find((r) => r.name === "Sydney").toUsEast1Ms, 230, "the defaults are not changed");
  assert.equal(parsed.assumptions.lastMileMs, 20);
  assert.match(render(parsed), /\| Sydney \| ap-southeast-2 \| 198 \| given with `--rtt` \|/);
  assert.throws(() => parseArgs(["--cpu", "worker.logout=1"]), /side\.kind=ms/);
  assert.throws(() => parseArgs(["--rtt", "Virginia=3"]), /--rtt takes place=ms/);
  assert.throws(() => parseArgs(["--last-mile", "soon"]), /--last-mile takes ms/);
  assert.throws(() => parseArgs(["--fast"]), /unknown argument "--fast"/);
});

test("the report has a row for every region and cites a source with a date for every published number", () => {
  const text = render();
  for (const region of REGIONS) assert.match(text, new RegExp(`^\\| ${region.name} \\|`, "m"));
  assert.match(text, /modelled, not measured/);
  assert.match(text, /#### Sources/);
  assert.match(text, /April 2017/);
});
