// Driver of scripts/bench-messages.sh: times each way of reading and writing the visit request
// and prints a table (median of `rounds` rounds, each the mean of a batch, in µs).
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";

const [dir, rounds = "9"] = process.argv.slice(2);
const m = createRequire(import.meta.url)(`${dir}/message_timing.js`);
const arrays = readFileSync(`${dir}/request.json`);
const values = readFileSync(`${dir}/values.json`);
const objects = new TextEncoder().encode(m.object_form(arrays));
const objectText = new TextDecoder().decode(objects);
const zones = JSON.parse(objectText).zones.length;

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
const rows = [
  ["read: JSON.parse, then serde-wasm-bindgen (`Request::json`), candidates as objects", objects.length,
    time(() => check(m.read_parsed(JSON.parse(objectText))))],
  ["read: serde_json over the bytes (`bindings::message`), candidates as objects", objects.length,
    time(() => check(m.read_bytes(objects)))],
  ["read: serde_json over the bytes, candidates as arrays (as sent now)", arrays.length,
    time(() => check(m.read_bytes(arrays)))],
  // The same parse with 1 and 11 writes; the difference is 10 writes.
  ["write: serde_json, candidates as arrays (the worker's side)", arrays.length,
    (time(() => m.write(arrays, 11), 20) - time(() => m.write(arrays, 1), 20)) / 10],
];
// Each value written and read back: the difference between 11 and 1 round trips, over 10.
const roundTrip = (f) => (time(() => f(values, 11), 20) - time(() => f(values, 1), 20)) / 10;
rows.push(
  ["the visit's stored values, written and read back: serde-wasm-bindgen (`Storage::put`, `get`)", values.length, roundTrip(m.values_structured)],
  ["the visit's stored values, written and read back: JSON text (`stored::put`, `get`)", values.length, roundTrip(m.values_text)],
);
console.log(`The scale account's visit request (${zones} zones), under V8 (wasm32-unknown-unknown, deploy profile):\n`);
console.log("| step | bytes | µs |");
console.log("|---|---|---|");
for (const [name, bytes, us] of rows) console.log(`| ${name} | ${bytes} | ${us.toFixed(1)} |`);
