// Runs a wasm32-wasip1 program under Node's WASI (V8, the engine workerd runs): the engine's
// timing example, built by scripts/bench-v8.sh. Arguments after the file go to the program.
import { readFileSync } from "node:fs";
import { WASI } from "node:wasi";

const [file, ...args] = process.argv.slice(2);
const wasi = new WASI({ version: "preview1", args: ["engine_timing", ...args], env: {} });
const instance = await WebAssembly.instantiate(await WebAssembly.compile(readFileSync(file)), wasi.getImportObject());
wasi.start(instance);
