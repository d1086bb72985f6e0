// The gate's QR payload, as zk/payload.py encodes it: "FG1:" + base45(proof(256) | nullifier |
// root | scope | challenge), each a 32-byte big-endian word. The proof is the Ethereum encoding:
// a.x a.y | b.x1 b.x0 b.y1 b.y0 | c.x c.y. snarkjs writes pi_b as [[x0, x1], [y0, y1]]: each G2
// coordinate is swapped to imaginary-first here, or every gate refuses the proof.
// base45 includes the space: the text is never trimmed or split.
import { uintBytes } from "./identity.js";

export const PREFIX = "FG1:";
const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

export function b45encode(data) {
  let out = "";
  for (let i = 0; i + 1 < data.length; i += 2) {
    let n = data[i] * 256 + data[i + 1];
    const c = n % 45;
    n = (n - c) / 45;
    const d = n % 45;
    const e = (n - d) / 45;
    out += ALPHABET[c] + ALPHABET[d] + ALPHABET[e];
  }
  if (data.length % 2) {
    const n = data[data.length - 1];
    out += ALPHABET[n % 45] + ALPHABET[Math.floor(n / 45)];
  }
  return out;
}

/** The eight proof words from snarkjs's proof JSON, in the Ethereum order. */
export function proofWords(proof) {
  const [a, b, c] = [proof.pi_a, proof.pi_b, proof.pi_c];
  return [a[0], a[1], b[0][1], b[0][0], b[1][1], b[1][0], c[0], c[1]].map((x) => BigInt(x));
}

/** The QR text of a snarkjs proof and its public signals [nullifier, root, scope, challenge]. */
export function encodePayload(proof, publicSignals) {
  if (publicSignals.length !== 4) throw new Error("a gate proof has four public signals");
  const words = [...proofWords(proof), ...publicSignals.map((x) => BigInt(x))];
  const body = new Uint8Array(32 * words.length);
  words.forEach((w, i) => body.set(uintBytes(w, 32), 32 * i));
  return PREFIX + b45encode(body);
}
