// The differential test's generator (tests/differential/generate.mjs):
// replayable from its seed, switchable by category, and every document one
// JSON.parse (what connect-redis does) reads.

import { test } from "node:test";
import assert from "node:assert/strict";
import { CATEGORY_NAMES, generate } from "../differential/generate.mjs";

const NOW = Date.parse("2026-01-01T00:00:00.000Z");

test("the same seed gives the same documents; another seed others", () => {
  const a = generate(42, 20, CATEGORY_NAMES, { now: NOW });
  assert.deepEqual(generate(42, 20, CATEGORY_NAMES, { now: NOW }), a);
  assert.notDeepEqual(generate(43, 20, CATEGORY_NAMES, { now: NOW }), a);
});

test("a category's documents do not depend on which other categories run", () => {
  const all = generate(7, 10, CATEGORY_NAMES, { now: NOW });
  for (const c of CATEGORY_NAMES) assert.deepEqual(generate(7, 10, [c], { now: NOW })[c], all[c], c);
});

test("every document is JSON with a cookie object (a falsy value for unloadable), and has its category's feature", () => {
  const docs = generate(1, 50, CATEGORY_NAMES, { now: NOW, userOf: (i) => (i % 3 === 2 ? "alice" : undefined) });
  const features = {
    "lone-surrogate-values": (t) => /\\u[dD][89abAB]|\\u[dD][c-fC-F]/.test(t),
    "lone-surrogate-keys": (t) => /"[^"]*\\u[dD][89a-fA-F][0-9a-fA-F]{2}[^"]*":/.test(t),
    proto: (t, v) => Object.hasOwn(v, "__proto__"),
    "key-order": (t) => !t.startsWith('{"cookie"'),
    whitespace: (t) => /\s/.test(t.replace(/"(?:[^"\\]|\\.)*"/g, "")),
  };
  for (const [c, list] of Object.entries(docs)) {
    assert.equal(list.length, 50);
    for (const [i, d] of list.entries()) {
      const v = JSON.parse(d.text);
      if (c === "unloadable") {
        assert.ok(!v, d.text);
        continue;
      }
      assert.equal(typeof v.cookie, "object", d.text);
      assert.ok(v.cookie !== null && !Array.isArray(v.cookie), d.text);
      assert.ok(d.ttlMs > 0, d.text);
      if (i % 3 === 2) assert.deepEqual(v.passport, { user: "alice" }, d.text);
      if (features[c]) assert.ok(features[c](d.text, v), `${c}: ${d.text}`);
    }
  }
});
