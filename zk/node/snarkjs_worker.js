// A warm snarkjs process for Python (zk/snarkjs_node.py): JSON lines on stdin, one answer per line.
// Loads snarkjs, circomlibjs and circom_runtime once; used by the tests (snarkjs as the reference
// verifier) and by scripts/bench_zk.py (the same-run snarkjs baseline). Not used by the product's
// hot path. Commands:
//   {"cmd":"verify","vkey":{...},"proof":{...},"public":[...]}      -> {"ok":bool}
//   {"cmd":"fullprove","input":{...},"wasm":path,"zkey":path}        -> {"proof":{...},"public":[...]}
//   {"cmd":"witness","input":{...},"wasm":path}                      -> {"witness":["..."]}
//   {"cmd":"poseidon","inputs":[["1","2"],...]}                      -> {"hashes":["..."]}
//   {"cmd":"bench","input":{...},"wasm":path,"zkey":path,"vkey":{...},"n_prove":N,"n_verify":M}
//        -> {"prove_s":[...],"verify_s":[...]}  (all in this one warm process)
"use strict";
const fs = require("fs");
const readline = require("readline");
const snarkjs = require("snarkjs");
const { WitnessCalculatorBuilder } = require("circom_runtime");
const { buildPoseidon } = require("circomlibjs");

const calculators = new Map();
let poseidon = null;

async function calculator(wasm) {
  if (!calculators.has(wasm)) {
    calculators.set(wasm, await WitnessCalculatorBuilder(fs.readFileSync(wasm)));
  }
  return calculators.get(wasm);
}

function seconds(start) {
  const [s, ns] = process.hrtime(start);
  return s + ns / 1e9;
}

async function handle(req) {
  switch (req.cmd) {
    case "verify": {
      const ok = await snarkjs.groth16.verify(req.vkey, req.public, req.proof, { info() {}, debug() {}, warn() {}, error() {} });
      return { ok };
    }
    case "fullprove": {
      const { proof, publicSignals } = await snarkjs.groth16.fullProve(req.input, req.wasm, req.zkey);
      return { proof, public: publicSignals };
    }
    case "witness": {
      const wc = await calculator(req.wasm);
      const w = await wc.calculateWitness(req.input, true);
      return { witness: w.map((x) => x.toString()) };
    }
    case "poseidon": {
      if (!poseidon) poseidon = await buildPoseidon();
      return { hashes: req.inputs.map((xs) => poseidon.F.toString(poseidon(xs.map(BigInt)))) };
    }
    case "bench": {
      const prove_s = [], verify_s = [];
      let last = null;
      for (let i = 0; i < req.n_prove; i++) {
        const t = process.hrtime();
        last = await snarkjs.groth16.fullProve(req.input, req.wasm, req.zkey);
        prove_s.push(seconds(t));
      }
      for (let i = 0; i < req.n_verify; i++) {
        const t = process.hrtime();
        const ok = await snarkjs.groth16.verify(req.vkey, last.publicSignals, last.proof);
        verify_s.push(seconds(t));
        if (!ok) throw new Error("snarkjs refused its own proof");
      }
      return { prove_s, verify_s };
    }
    default:
      throw new Error("unknown command " + req.cmd);
  }
}

const rl = readline.createInterface({ input: process.stdin });
let chain = Promise.resolve();
rl.on("line", (line) => {
  chain = chain.then(async () => {
    let answer;
    try {
      answer = await handle(JSON.parse(line));
    } catch (err) {
      answer = { error: String(err && err.message ? err.message : err) };
    }
    process.stdout.write(JSON.stringify(answer) + "\n");
  });
});
rl.on("close", () => {
  chain.then(() => {
    // let the curve worker threads go; stdout is drained by the time the promise chain ends
    if (globalThis.curve_bn128) globalThis.curve_bn128.terminate();
    setTimeout(() => process.exit(0), 50);
  });
});
