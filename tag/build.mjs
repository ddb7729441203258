// Builds the tag from one source with esbuild: the ES module with its type declarations for
// bundlers (dist/tag.mjs, dist/tag.d.ts) and the snippet build (dist/tag.js, IIFE, minified),
// which the worker serves at /tag/{version}/tag.js as a static asset with long caching, beside
// the earlier versions kept in tag/releases/{version}/tag.js. Fails
// when the snippet build's gzip passes the budget (BENCHMARKS.md). Prints its SRI hash;
// `node tag/build.mjs --readme` writes it into the README's snippet.
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "..");
const BUDGET_GZIP = 8192;
const { version } = JSON.parse(readFileSync(join(HERE, "package.json"), "utf8"));
const common = { bundle: true, target: "es2019", legalComments: "none", logLevel: "warning" };

await build({ ...common, entryPoints: [join(HERE, "src/tag.ts")], outfile: join(HERE, "dist/tag.mjs"), format: "esm" });
await build({ ...common, entryPoints: [join(HERE, "src/snippet.ts")], outfile: join(HERE, "dist/tag.js"), format: "iife", minify: true });
execFileSync(join(ROOT, "node_modules", ".bin", "tsc"), ["-p", join(HERE, "tsconfig.json")], { stdio: "inherit" });

const snippet = readFileSync(join(HERE, "dist/tag.js"));
const gzip = gzipSync(snippet, { level: 9 }).length;
const sri = `sha384-${createHash("sha384").update(snippet).digest("base64")}`;
// The worker's static assets (scripts/assets.mjs): the snippet at a versioned path.
const assets = join(ROOT, "build", "assets");
mkdirSync(join(assets, "tag", version), { recursive: true });
copyFileSync(join(HERE, "dist/tag.js"), join(assets, "tag", version, "tag.js"));
// Earlier versions stay served byte for byte: pages pin them with their integrity hash.
for (const old of readdirSync(join(HERE, "releases"))) {
  mkdirSync(join(assets, "tag", old), { recursive: true });
  copyFileSync(join(HERE, "releases", old, "tag.js"), join(assets, "tag", old, "tag.js"));
}
writeFileSync(join(HERE, "dist/build.json"), JSON.stringify({ version, bytes: snippet.length, gzip, integrity: sri }, null, 2) + "\n");
console.log(`tag ${version}: ${snippet.length} B, gzip ${gzip} B (budget ${BUDGET_GZIP}), integrity ${sri}`);
// `--readme`: writes this build's version and integrity into the README's snippet (the worker
// tests fail while the README's hash is not the served file's).
if (process.argv.includes("--readme")) {
  const path = join(ROOT, "README.md");
  const text = readFileSync(path, "utf8").replace(
    /src="https:\/\/edge\.example\/tag\/[^/]+\/tag\.js" integrity="[^"]+"/,
    `src="https://edge.example/tag/${version}/tag.js" integrity="${sri}"`,
  );
  writeFileSync(path, text);
}
if (gzip > BUDGET_GZIP) {
  console.error("tag: snippet build over its gzip budget");
  process.exit(1);
}
