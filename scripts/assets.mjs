// Assembles the worker's static assets (build/assets, `[assets]` in wrangler.toml): served by
// the platform before the worker runs, so none of these bytes is in the wasm.
//   /tag/{version}/tag.js          the web tag's snippet build (tag/build.mjs)
//   /v1/openapi.yaml               docs/openapi.yaml
//   /v1/schema/snapshot.json       docs/snapshot.schema.json
//   /report/assets/report.{js,css} the report page's script and style (its HTML stays a route)
// and `_headers`: each path's caching, CORS and security headers.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const OUT = join(ROOT, "build", "assets");
rmSync(OUT, { recursive: true, force: true });
const copy = (from, to) => {
  mkdirSync(dirname(join(OUT, to)), { recursive: true });
  copyFileSync(join(ROOT, from), join(OUT, to));
};
execFileSync(process.execPath, [join(ROOT, "tag", "build.mjs"), ...process.argv.slice(2)], { stdio: "inherit" });
copy("docs/openapi.yaml", "v1/openapi.yaml");
copy("docs/snapshot.schema.json", "v1/schema/snapshot.json");
copy("report/report.js", "report/assets/report.js");
copy("report/report.css", "report/assets/report.css");
writeFileSync(join(OUT, "_headers"), `/*
  X-Content-Type-Options: nosniff
  Strict-Transport-Security: max-age=31536000
  Content-Security-Policy: default-src 'none'; frame-ancestors 'none'
/tag/*
  Cache-Control: public, max-age=31536000, immutable
  Access-Control-Allow-Origin: *
  Cross-Origin-Resource-Policy: cross-origin
/v1/*
  Cache-Control: public, max-age=3600
  Access-Control-Allow-Origin: *
/v1/openapi.yaml
  Content-Type: application/yaml
/v1/schema/snapshot.json
  Content-Type: application/schema+json
/report/assets/*
  Cache-Control: public, max-age=3600
`);
