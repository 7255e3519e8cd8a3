// The store round trips of each request, before its response: the budget
// table of issue 10 and the commands each HTTP call to Upstash carries.
// Written once, here: tests/e2e/round-trips.test.mjs asserts them exactly
// against the real built worker (upstash-local counts the calls), and
// bench/latency-model.mjs turns them into time per region. A change in what
// the worker sends fails the test first; the model follows without an edit.
//
// Pure data: no processes, no network.

/** The budget table of issue 10: store round trips before the response. */
export const BUDGET = {
  "first visit, no cookie": 1,
  "tampered or unsigned cookie": 1,
  "read, valid cookie": 1,
  "read, logged in": 1,
  pour: 2,
  "pour, logged in": 2,
  register: 2,
  login: 2,
  logout: 2,
  "logout everywhere": 2,
  "signed-in sessions": 2,
  "end one session": 3,
  "log out the others": 3,
  "the page, first visit": 1,
  "the page, logged in": 1,
  "the page, logged in on two browsers": 2,
};

/** One rate-limit hit (docs/PROTOCOL.md §8.2). */
const HIT = ["INCR", "EXPIRE", "PTTL"];
const LOGIN_READ = ["GET", ...HIT, ...HIT, ...HIT, "SISMEMBER", "GET", "GET", "SMEMBERS"];
// The save script; the address's hit taken back; the name's failures
// forgiven; the account kept (record and skeleton); the address known.
const LOGIN_WRITE = ["EVALSHA", "DECR", "DEL", "PERSIST", "SET", "PERSIST", "SADD", "EXPIRE"];

/**
 * The commands of each HTTP call before the response, per row (or "row:
 * request"): what the README's table says each call carries. A change in
 * what is folded into which call fails the test, not only a change in the
 * count.
 */
export const CALLS = {
  "first visit, no cookie": [["EVALSHA"]],
  "tampered or unsigned cookie: tampered": [["EVALSHA"]],
  "tampered or unsigned cookie: unsigned": [["EVALSHA"]],
  "read, valid cookie": [["GET"]],
  // The session, the lifetime count, the user record (a deleted account is logged out).
  "read, logged in": [["GET", "GET", "GET"]],
  pour: [["GET"], ["EVALSHA"]],
  "pour, logged in": [["GET", "GET", "GET"], ["EVALSHA"]],
  // The address's and the global registration counters.
  // The registration script (the record and its skeleton), then the save
  // of the new, logged-in session guarded by that record (registering logs in).
  register: [["GET", ...HIT, ...HIT], ["EVALSHA", "EVALSHA"]],
  // The registration's session is in the index (registering logs in): the
  // login prunes it, in the same call.
  "login: a first login": [LOGIN_READ, [...LOGIN_WRITE, "EVALSHA"]],
  // The index holds the logged-out id: the login prunes it, in the same call.
  "login: again after a logout": [LOGIN_READ, [...LOGIN_WRITE, "EVALSHA"]],
  logout: [["GET"], ["EVALSHA"]],
  "logout everywhere": [["GET", "SMEMBERS"], ["EVALSHA"]],
  // The session with the user's index; the other session's document.
  "signed-in sessions": [["GET", "SMEMBERS"], ["GET"]],
  // The same, then the other session's document deleted and its id unindexed.
  "end one session": [["GET", "SMEMBERS"], ["GET"], ["DEL", "SREM"]],
  "log out the others": [["GET", "SMEMBERS"], ["GET"], ["DEL", "SREM"]],
  // GET /: the new session's save.
  "the page, first visit": [["EVALSHA"]],
  // The session, the lifetime count, the user record and the user's index
  // (where you're signed in: no other session, no other call).
  "the page, logged in": [["GET", "GET", "GET", "SMEMBERS"]],
  // The same, then the other session's document.
  "the page, logged in on two browsers": [["GET", "GET", "GET", "SMEMBERS"], ["GET"]],
};
