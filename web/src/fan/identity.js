// Ticket identity in the browser, exactly as zk/identity.py computes it (a test checks equality):
//
//   seed             = keccak256(65-byte EIP-191 signature of SEED_MESSAGE, v normalised to 27/28)
//   secret(scope, n) = int(SHA-512("fairgate/ticket-secret/v1" || seed || scope(32) || n(4)
//                          || attempt(4))) mod p       (attempt 0; 1, 2, ... only if that is 0)
//   commitment       = Poseidon(secret, 2^248)      nullifier = Poseidon(secret, scope)
//   window           = floor(unix / 20)             challenge = keccak256("fairgate/window/v1"
//                                                       || scope(32) || window(8)) >> 8
//
// Secrets never leave the page: only commitments go to the chain, and proofs to the gate.
import { bytesToHex, hexToBytes, keccak256, concatBytes, recoverMessageAddress, getAddress } from "viem";
import { C, M } from "./poseidon_t3.js";

export const P = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
export const COMMIT_DOMAIN = 1n << 248n;
export const WINDOW_S = 20;
export const SEED_MESSAGE =
  "Fairgate ticket key\n\n" +
  "Sign this message to create or recover the secrets of your Fairgate tickets.\n" +
  "Only sign it in the Fairgate app: whoever holds this signature can enter with your tickets.\n" +
  "It costs nothing and cannot move your funds.\n\n" +
  "Version: 1";
const KDF_DOMAIN = new TextEncoder().encode("fairgate/ticket-secret/v1");
const WINDOW_DOMAIN = new TextEncoder().encode("fairgate/window/v1");

/** A big-endian unsigned integer of `size` bytes. */
export function uintBytes(value, size) {
  let v = BigInt(value);
  if (v < 0n || v >> BigInt(8 * size)) throw new RangeError(`value does not fit ${size} bytes`);
  const out = new Uint8Array(size);
  for (let i = size - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

function bytesToBigInt(bytes) {
  return BigInt(bytesToHex(bytes));
}

/** The 65-byte signature with v as 27/28 (some wallets return 0/1: same signer, other seed). */
export function normaliseSignature(signature) {
  const bytes = typeof signature === "string" ? hexToBytes(signature) : new Uint8Array(signature);
  if (bytes.length !== 65) throw new Error("a wallet signature is 65 bytes");
  const out = new Uint8Array(bytes);
  if (out[64] < 27) out[64] += 27;
  if (out[64] !== 27 && out[64] !== 28) throw new Error("the signature's v is neither 27 nor 28");
  return out;
}

/** The 32-byte seed of `holder`'s signature of SEED_MESSAGE (refused if another key signed). */
export async function walletSeed(signature, holder) {
  const sig = normaliseSignature(signature);
  const signer = await recoverMessageAddress({ message: SEED_MESSAGE, signature: bytesToHex(sig) });
  if (getAddress(signer) !== getAddress(holder)) {
    throw new Error("the signature was not made by the holder's wallet");
  }
  return hexToBytes(keccak256(sig));
}

export function checkScope(scope) {
  const s = BigInt(scope);
  if (s < 0n || s >> 248n) throw new RangeError("scope must be below 2^248");
  return s;
}

/** The secret number `counter` of an event (scope) from a wallet seed, as a bigint. */
export async function deriveSecret(seed, scope, counter) {
  if (seed.length !== 32) throw new Error("a wallet seed is 32 bytes");
  const prefix = concatBytes([KDF_DOMAIN, seed, uintBytes(checkScope(scope), 32), uintBytes(counter, 4)]);
  for (let attempt = 0; ; attempt++) {
    const data = concatBytes([prefix, uintBytes(attempt, 4)]);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-512", data));
    const value = bytesToBigInt(digest) % P;
    if (value !== 0n) return value;
  }
}

const CB = C.map((x) => BigInt(x));
const MB = M.map((row) => row.map((x) => BigInt(x)));
const pow5 = (a) => {
  const a2 = (a * a) % P;
  return (((a2 * a2) % P) * a) % P;
};

/** circomlib's Poseidon(2): t = 3, 8 full rounds and 57 partial rounds. */
export function poseidon2(left, right) {
  let s = [0n, BigInt(left), BigInt(right)];
  for (const x of s) if (x < 0n || x >= P) throw new RangeError("a Poseidon input must be below p");
  const rounds = 8 + 57;
  for (let r = 0; r < rounds; r++) {
    s = s.map((a, i) => (a + CB[r * 3 + i]) % P);
    if (r < 4 || r >= 4 + 57) s = s.map(pow5);
    else s[0] = pow5(s[0]);
    s = [0, 1, 2].map((i) => (MB[i][0] * s[0] + MB[i][1] * s[1] + MB[i][2] * s[2]) % P);
  }
  return s[0];
}

export const commitment = (secret) => poseidon2(secret, COMMIT_DOMAIN);
export const nullifier = (secret, scope) => poseidon2(secret, checkScope(scope));

export function timeWindow(unixSeconds, windowS = WINDOW_S) {
  if (unixSeconds < 0) throw new RangeError("time must not be before 1970");
  return Math.floor(unixSeconds / windowS);
}

export function windowChallenge(scope, window) {
  const data = concatBytes([WINDOW_DOMAIN, uintBytes(checkScope(scope), 32), uintBytes(window, 8)]);
  return BigInt(keccak256(data)) >> 8n;
}

export function gateScope(chainId, address) {
  const data = concatBytes([uintBytes(chainId, 32), hexToBytes(getAddress(address))]);
  return BigInt(keccak256(data)) >> 8n;
}

export const commitmentHex = (c) => "0x" + BigInt(c).toString(16).padStart(64, "0");

/**
 * The first `count` fresh secrets for an event: counters whose commitments were never given for
 * this wallet (`used`: 0x-hex commitments from the bridge), scanned from 0 as Python recovers them.
 */
export async function freshSecrets(seed, scope, used, count, maxCounter = 4096) {
  const seen = new Set(used.map((c) => BigInt(c)));
  const out = [];
  for (let n = 0; n < maxCounter && out.length < count; n++) {
    const secret = await deriveSecret(seed, scope, n);
    const c = commitment(secret);
    if (!seen.has(c)) out.push({ counter: n, secret, commitment: c });
  }
  if (out.length < count) throw new Error("no fresh ticket counter left for this wallet");
  return out;
}

/** {commitment(bigint) -> secret} for the commitments this seed made (counters 0..maxCounter). */
export async function recoverSecrets(seed, scope, commitments, maxCounter = 256) {
  const wanted = new Set(commitments.map((c) => BigInt(c)));
  const found = new Map();
  for (let n = 0; n < maxCounter && found.size < wanted.size; n++) {
    const secret = await deriveSecret(seed, scope, n);
    const c = commitment(secret);
    if (wanted.has(c)) found.set(c, secret);
  }
  return found;
}
