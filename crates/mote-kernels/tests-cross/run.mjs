// Runs the int8 identity check of the wasm module given as first argument (see
// scripts/int8_identity.sh); exits 1 when a path differs from the reference or, given a second
// argument, when the best path's hash differs from it (the native reference hash).
import { readFileSync } from "node:fs";

const bytes = readFileSync(process.argv[2]);
const { instance } = await WebAssembly.instantiate(bytes, {});
const { int8_identity, int8_identity_hash, int8_identity_is_simd128 } = instance.exports;
const paths = int8_identity();
const hash = BigInt.asUintN(64, int8_identity_hash()).toString(16).padStart(16, "0");
const best = int8_identity_is_simd128() ? "simd128" : "scalar";
console.log(`int8 identity wasm32: ${Math.abs(paths)} paths, best ${best} ${hash} ${paths > 0 ? "ok" : "DIFFERENT"}`);
const want = process.argv[3];
if (want && hash !== want) console.log(`FAILED: differs from the native reference hash ${want}`);
if (paths <= 0 || best !== "simd128" || (want && hash !== want)) process.exit(1);
