// Bundle the browser JavaScript of Fairgate's pages: every web/src/<name>.js (an entry point) and
// web/src/<name>.worker.js (a Web Worker) becomes build/web/<name>.js, minified, for the browser,
// with no CDN at run time. Run by scripts/setup.sh, which skips it when the content hash of web/,
// this script and package-lock.json has not changed (build/web/.stamp).
//
// build/web/manifest.json lists each output with its sha256 (hex) and size, so servers can send
// an immutable cache header and pages can check what they load.
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const src = join(root, "web", "src");
const out = join(root, "build", "web");

const entries = existsSync(src)
  ? readdirSync(src).filter((f) => f.endsWith(".js")).map((f) => join(src, f))
  : [];
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
if (entries.length) {
  await build({
    entryPoints: entries,
    outdir: out,
    bundle: true,
    minify: true,
    format: "esm",
    platform: "browser",
    target: ["chrome110", "firefox115", "safari16"],
    legalComments: "none",
    logLevel: "warning",
    // snarkjs and its friends reach for Node built-ins they never call in the browser
    define: { "process.env.NODE_DEBUG": "false", global: "globalThis" },
  });
}
const manifest = {};
for (const f of readdirSync(out).sort()) {
  const data = readFileSync(join(out, f));
  manifest[f] = { sha256: createHash("sha256").update(data).digest("hex"), bytes: data.length };
}
writeFileSync(join(out, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
console.log(`[web] ${entries.length} entries -> build/web (${Object.keys(manifest).length} files)`);
