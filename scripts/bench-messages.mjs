// Driver of scripts/bench-messages.sh: times each way of reading and writing the visit request
// and prints a table (median of `rounds` rounds, each the mean of a batch, in µs).
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";

const [dir, rounds = "9"] = process.argv.slice(2);
const m = createRequire(import.meta.url)(`${dir}/message_timing.js`);
const text = readFileSync(`${dir}/request.json`, "utf8").trim();
const bytes = new TextEncoder().encode(text);
const zones = JSON.parse(text).zones.length;

function time(fn, batch = 100) {
  for (let i = 0; i < 20; i++) fn();
  const means = [];
  for (let r = 0; r < Number(rounds); r++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) fn();
    means.push(Number(process.hrtime.bigint() - t) / batch / 1000);
  }
  means.sort((a, b) => a - b);
  return means[Math.floor(means.length / 2)];
}

const check = (n) => {
  if (n !== zones) throw new Error(`read ${n} zones, expected ${zones}`);
};
const parsed = time(() => check(m.read_parsed(JSON.parse(text))));
const inWasm = time(() => check(m.read_bytes(bytes)));
// Writing: the same parse with 1 and 11 writes; the difference is 10 writes.
const write = (time(() => m.write(bytes, 11), 20) - time(() => m.write(bytes, 1), 20)) / 10;
console.log(`visit request of the scale account: ${bytes.length} B, ${zones} zones\n`);
console.log("| under V8 (wasm32-unknown-unknown, deploy profile) | µs |");
console.log("|---|---|");
console.log(`| read: JSON.parse, then serde-wasm-bindgen (\`Request::json\`) | ${parsed.toFixed(1)} |`);
console.log(`| read: serde_json over the bytes (\`bindings::message\`) | ${inWasm.toFixed(1)} |`);
console.log(`| write: serde_json (the worker's side) | ${write.toFixed(1)} |`);
