// The gate prover, in a Web Worker so the page stays responsive: snarkjs's groth16.fullProve with
// the circuit wasm and zkey the bridge serves by content hash (/zk/gate-circuit). Each file is
// fetched once, its SHA-256 checked, and kept in the Cache Storage under its immutable URL, so a
// second visit proves without downloading; within a visit the bytes stay in memory (warm).
import { groth16 } from "snarkjs";

const CACHE = "fairgate-circuit-v1";
const loaded = new Map(); // sha256 -> Promise<Uint8Array>

async function sha256Hex(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function fetchChecked(file) {
  let response = null;
  const cache = self.caches ? await caches.open(CACHE).catch(() => null) : null;
  if (cache) response = await cache.match(file.url);
  let fromCache = Boolean(response);
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

function load(file) {
  if (!loaded.has(file.sha256)) {
    const p = fetchChecked(file);
    p.catch(() => loaded.delete(file.sha256));
    loaded.set(file.sha256, p);
  }
  return loaded.get(file.sha256);
}

self.onmessage = async (e) => {
  const { id, input, wasm, zkey } = e.data;
  try {
    const [w, z] = await Promise.all([load(wasm), load(zkey)]);
    const started = performance.now();
    const { proof, publicSignals } = await groth16.fullProve(input, w, z);
    self.postMessage({ id, proof, publicSignals, ms: performance.now() - started });
  } catch (error) {
    self.postMessage({ id, error: String(error?.message || error) });
  }
};
