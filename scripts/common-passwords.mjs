// Writes crates/edge-session/data/common-passwords.txt: the passwords a
// registration (or a password change) refuses as too common, one per line,
// most common first. The source is zxcvbn's ranked list of common passwords
// (@zxcvbn-ts/language-common, pinned in package.json; MIT, Dan Wheeler,
// Dropbox and @zxcvbn-ts), which comes from leaked password sets: its top
// RANKS entries, keeping those of at least MIN_CHARS characters (shorter
// ones are refused for their length anyway). The crate's build script turns
// the file into a compact filter (crates/edge-session/build.rs).
//
//   node scripts/common-passwords.mjs          rewrite the file
//   node scripts/common-passwords.mjs --check  fail when the file differs
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";

const RANKS = 20_000;
const MIN_CHARS = 8;

const require = createRequire(import.meta.url);
const ranked = JSON.parse(readFileSync(require.resolve("@zxcvbn-ts/language-common/src/passwords.json"), "utf8"));
const out = new URL("../crates/edge-session/data/common-passwords.txt", import.meta.url);
const lines = ranked.slice(0, RANKS).filter((p) => [...p].length >= MIN_CHARS);
const text = lines.join("\n") + "\n";

if (process.argv.includes("--check")) {
  if (readFileSync(out, "utf8") !== text) {
    console.error("crates/edge-session/data/common-passwords.txt differs from the pinned list: run node scripts/common-passwords.mjs");
    process.exit(1);
  }
  console.log(`common passwords: ${lines.length} of the top ${RANKS}, as the pinned list has them`);
} else {
  writeFileSync(out, text);
  console.log(`wrote ${lines.length} passwords`);
}
