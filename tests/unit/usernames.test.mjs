// Every vector of tests/vectors/usernames.json (the username rules of
// crates/edge-session/src/accounts/username.rs, as data) through the Express fixture's
// checkUsername(): the JavaScript side must agree with the Rust one.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { ROOT } from "../support/config.mjs";
import { checkUsername, normalizeUsername } from "../fixtures/express-accounts.mjs";

const VECTORS = JSON.parse(readFileSync(path.join(ROOT, "tests/vectors/usernames.json"), "utf8"));
const ERRORS = ["length", "characters", "disallowed", "restricted", "no_letter_or_digit", "mixed_scripts"];
/** Keys an entry may have besides input and its outcome: why; skeleton (UTS #39, checked by the Rust side); rust_only (why the Express fixture does not agree). */
const OPTIONAL = ["why", "skeleton", "rust_only"];

test("the vectors file is well formed", () => {
  assert.ok(VECTORS.length > 0);
  for (const v of VECTORS) {
    const keys = Object.keys(v).filter((k) => !OPTIONAL.includes(k));
    assert.equal(typeof v.input, "string", JSON.stringify(v));
    assert.ok(
      (keys.length === 2 && keys.includes("input") && typeof v.normalized === "string") ||
        (keys.length === 2 && keys.includes("input") && ERRORS.includes(v.error)),
      `an entry is {input, normalized} or {input, error}, with an optional why: ${JSON.stringify(v)}`,
    );
    for (const k of OPTIONAL) if (k in v) assert.equal(typeof v[k], "string", `${k}: ${JSON.stringify(v)}`);
    if ("skeleton" in v) assert.equal(typeof v.normalized, "string", "a skeleton is of a canonical name");
  }
  for (const kind of ERRORS) assert.ok(VECTORS.some((v) => v.error === kind), `no vector of ${kind}`);
  // The Express fixture checks everything but UTS #39's Identifier_Status and the Bidi Rule.
  for (const v of VECTORS.filter((v) => v.error === "restricted")) assert.ok("rust_only" in v, JSON.stringify(v));
});

for (const v of VECTORS.filter((v) => !("rust_only" in v))) {
  const title = `${JSON.stringify(v.input)} → ${v.error ?? JSON.stringify(v.normalized)}${v.why ? ` (${v.why})` : ""}`;
  test(title, () => {
    const got = checkUsername(v.input);
    if (v.error) {
      assert.deepEqual(got, { error: v.error });
      assert.equal(normalizeUsername(v.input), null);
    } else {
      assert.deepEqual(got, { name: v.normalized });
      assert.equal(normalizeUsername(v.input), v.normalized);
      // Canonical names are fixed points.
      assert.deepEqual(checkUsername(v.normalized), { name: v.normalized });
    }
  });
}
