// The static assets as deployed: www/ copied to build/www/ with the
// stylesheet and the script renamed by their content
// (assets/<name>.<sha256 prefix>.<ext>) and index.html pointing at the new
// names, so that they can be cached for a year (`immutable`, www/_headers)
// while the page itself is never cached. A change to either file is a new
// URL, so no browser keeps an old one.
//
// Only files whose bytes change are written, and nothing else is touched:
// a running `wrangler dev` serving build/www sees no change when a second
// build (another wrangler's [build] command) makes the same files.
//
//   node scripts/build-assets.mjs [out-dir]   (default build/www)
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const src = path.join(root, "www");
const out = path.resolve(root, process.argv[2] ?? "build/www");
const VERSIONED = ["style.css", "app.js"];

/** Every file under `dir`, as paths relative to it. */
const filesUnder = (dir) => (existsSync(dir) ? readdirSync(dir, { recursive: true, withFileTypes: true }) : [])
  .filter((e) => e.isFile())
  .map((e) => path.relative(dir, path.join(e.parentPath ?? e.path, e.name)));

const want = new Map(filesUnder(src).map((f) => [f, readFileSync(path.join(src, f))]));
let page = want.get("index.html").toString("utf8");
for (const name of VERSIONED) {
  const body = want.get(name);
  const hash = createHash("sha256").update(body).digest("hex").slice(0, 12);
  const { name: base, ext } = path.parse(name);
  const versioned = `assets/${base}.${hash}${ext}`;
  want.delete(name);
  want.set(versioned, body);
  const before = page;
  page = page.replaceAll(`"/${name}"`, `"/${versioned}"`);
  if (page === before) throw new Error(`build-assets: www/index.html does not refer to "/${name}"`);
}
want.set("index.html", Buffer.from(page, "utf8"));

for (const [file, body] of want) {
  const target = path.join(out, file);
  if (existsSync(target) && readFileSync(target).equals(body)) continue;
  mkdirSync(path.dirname(target), { recursive: true });
  writeFileSync(target, body);
}
for (const file of filesUnder(out)) if (!want.has(file)) rmSync(path.join(out, file));
