// The wasm32 build's Unicode path against tests/vectors/usernames.json, the
// vectors the native build's crates pass (crates/edge-session/src/accounts/
// username.rs and username_compact.rs tests). In the worker, usernames are
// normalized with the runtime's String.prototype.normalize and build.rs's
// tables instead of the Unicode crates (issue 14: their tables were most of
// the wasm's size); this runs every vector through the built lab worker in
// workerd (POST /lab/unicode, src/app/lab.rs) so the two cannot drift
// apart, and the password check's NFKC with them.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { startWorker, ROOT } from "../support/index.mjs";

const VECTORS = JSON.parse(readFileSync(path.join(ROOT, "tests/vectors/usernames.json"), "utf8"));

let worker;
let answers;
before(async () => {
  // The route touches no store: the Upstash URL is never contacted.
  worker = await startWorker({ upstashUrl: "http://127.0.0.1:9", build: "build-lab" });
  const res = await worker.fetch("/lab/unicode", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(VECTORS.map((v) => v.input)),
  });
  assert.equal(res.status, 200, await res.clone().text());
  answers = await res.json();
});
after(() => worker?.stop());

test("one answer per vector", () => {
  assert.equal(answers.length, VECTORS.length);
});

for (const [i, v] of VECTORS.entries()) {
  const title = `${JSON.stringify(v.input)} → ${v.error ?? JSON.stringify(v.normalized)}`;
  test(title, () => {
    const got = answers[i];
    assert.deepEqual({ normalized: got.normalized ?? undefined, error: got.error ?? undefined }, { normalized: v.normalized, error: v.error });
    if ("skeleton" in v) assert.equal(got.skeleton, v.skeleton, "skeleton");
  });
}

test("the password check compares passwords in NFKC, lowercased", async () => {
  const res = await worker.fetch("/lab/unicode", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(["ｐａｓｓｗｏｒｄ１２３", "PASSWORD123", "ⅰⅰⅰⅰⅰⅰⅰⅰ", "a-fine-passphrase-9"]),
  });
  const got = (await res.json()).map((a) => a.password_error);
  assert.match(got[0], /common/, "fullwidth folds to a common password");
  assert.match(got[1], /common/);
  assert.match(got[2], /repeated/, "ⅰ (small roman numeral one) folds to i");
  assert.equal(got[3], null);
});
