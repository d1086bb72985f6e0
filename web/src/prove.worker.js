// The gate prover, in a Web Worker so the page stays responsive: snarkjs's Groth16 prover with the
// circuit wasm and zkey the bridge serves by content hash (/zk/gate-circuit). Each file is fetched
// once, its SHA-256 checked, and kept in the Cache Storage under its immutable URL, so a second
// visit proves without downloading. Warm path: the circuit's witness calculator is compiled once
// (snarkjs's fullProve compiles the 1.8 MB wasm again for every proof) and the zkey bytes stay in
// memory; each proof is then circom_runtime's calculateWTNSBin + snarkjs's groth16.prove.
// A message with `warm: true` only loads the files (the page sends it when it lists tickets).
import { groth16 } from "snarkjs";
import { WitnessCalculatorBuilder } from "circom_runtime";

const CACHE = "fairgate-circuit-v1";
const loaded = new Map(); // sha256 -> Promise<Uint8Array>
const calculators = new Map(); // wasm sha256 -> Promise<WitnessCalculator>

async function sha256Hex(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function fetchChecked(file) {
  let response = null;
  const cache = self.caches ? await caches.open(CACHE).catch(() => null) : null;
  if (cache) response = await cache.match(file.url);
  const fromCache = Boolean(response);
  if (!response) response = await fetch(file.url);
  if (!response.ok) throw new Error(`circuit file ${file.sha256.slice(0, 12)} could not be fetched`);
  const bytes = new Uint8Array(await response.clone().arrayBuffer());
  if ((await sha256Hex(bytes)) !== file.sha256) {
    if (cache && fromCache) await cache.delete(file.url);
    throw new Error("a circuit file does not match its hash: refusing to prove with it");
  }
  if (cache && !fromCache) await cache.put(file.url, response).catch(() => {});
  return bytes;
}

function once(map, key, make) {
  if (!map.has(key)) {
    const p = make();
    p.catch(() => map.delete(key));
    map.set(key, p);
  }
  return map.get(key);
}

const load = (file) => once(loaded, file.sha256, () => fetchChecked(file));
const calculator = (file) =>
  once(calculators, file.sha256, async () => WitnessCalculatorBuilder(await load(file)));

self.onmessage = async (e) => {
  const { id, input, wasm, zkey, warm } = e.data;
  try {
    const [wc, z] = await Promise.all([calculator(wasm), load(zkey)]);
    if (warm) {
      self.postMessage({ id, warm: true });
      return;
    }
    const started = performance.now();
    const witness = await wc.calculateWTNSBin(input, true);
    const { proof, publicSignals } = await groth16.prove(z, witness);
    self.postMessage({ id, proof, publicSignals, ms: performance.now() - started });
  } catch (error) {
    self.postMessage({ id, error: String(error?.message || error) });
  }
};
