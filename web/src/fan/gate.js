// "Show at the gate": the ticket's path in the published gate list (from the bridge), its secret
// (derived here, never sent), a Groth16 proof made in a Web Worker (prove.worker.js, snarkjs) for
// the rotating window challenge, and its QR code. A new code is made for every window
// (WINDOW_S = 20 s, zk.identity.window_challenge): the next one is proved ahead, so the code
// changes at the window's start; a screenshot is refused by gates once its window has passed.
import QRCode from "qrcode";
import * as id from "./identity.js";
import { encodePayload } from "./payload.js";

let worker = null;
let nextJob = 1;
const jobs = new Map();

/** The one prover worker of the page (kept warm: its circuit files and curve stay loaded). */
export function proverWorker() {
  if (!worker) {
    worker = new Worker("/assets/js/prove.worker.js", { type: "module" });
    worker.onmessage = (e) => {
      const job = jobs.get(e.data.id);
      if (!job) return;
      jobs.delete(e.data.id);
      if (e.data.error) job.reject(new Error(e.data.error));
      else job.resolve(e.data);
    };
    worker.onerror = (e) => {
      for (const job of jobs.values()) job.reject(new Error(e.message || "the prover stopped"));
      jobs.clear();
    };
  }
  return worker;
}

let circuit = null;
async function circuitFiles() {
  if (!circuit) {
    const r = await fetch("/zk/gate-circuit");
    if (!r.ok) throw new Error("The gate circuit is not available from the server.");
    circuit = await r.json();
  }
  return circuit;
}

/** Load the circuit files into the worker ahead of the first "Show at the gate". */
export async function warmUp() {
  const files = await circuitFiles();
  const w = proverWorker();
  const jobId = nextJob++;
  return new Promise((resolve, reject) => {
    jobs.set(jobId, { resolve, reject });
    w.postMessage({ id: jobId, warm: true, wasm: files.wasm, zkey: files.zkey });
  });
}

/** Prove in the worker; resolves {proof, publicSignals, ms}. */
export async function prove(input) {
  const files = await circuitFiles();
  const w = proverWorker();
  const jobId = nextJob++;
  return new Promise((resolve, reject) => {
    jobs.set(jobId, { resolve, reject });
    w.postMessage({ id: jobId, input, wasm: files.wasm, zkey: files.zkey });
  });
}

/** The ticket's current commitment was not made by this wallet's seed (a card purchase made on
 * another device, or a key made before the wallet was used): a new key can replace it. */
export class ForeignKey extends Error {}

const fmtTime = (unix) => new Date(unix * 1000).toISOString().slice(11, 19);

export class GateCode {
  constructor({ dialog, eventId, ticket, scope, seed, now = () => Date.now() / 1000 }) {
    Object.assign(this, { dialog, eventId, ticket, scope, seed, now });
    this.codes = new Map(); // window -> payload text
    this.timer = null;
    this.stopped = false;
  }

  status(text, kind = "warn") {
    const node = this.dialog.querySelector(".gate-status");
    node.className = `notice ${kind} gate-status`;
    node.textContent = text;
  }

  async start() {
    this.dialog.querySelector(".gate-ticket").textContent = `Ticket #${this.ticket.token_id}`;
    this.dialog.querySelector(".gate-payload").value = "";
    const canvas = this.dialog.querySelector("canvas");
    canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
    canvas.hidden = true; // until a code is drawn
    this.dialog.querySelector("details").hidden = true;
    this.status("Preparing your code: finding your ticket's key…");
    const found = await id.recoverSecrets(this.seed, this.scope, [this.ticket.commitment]);
    const secret = found.get(BigInt(this.ticket.commitment));
    if (secret === undefined) {
      throw new ForeignKey("This ticket's key was not made by this wallet (it was bought by card, or on another device).");
    }
    this.status("Preparing your code: finding your ticket in the gate list…");
    const r = await fetch(`/events/${this.eventId}/tickets/${this.ticket.token_id}/gate-path`);
    const path = await r.json();
    if (!r.ok) throw new Error(path?.error?.message || "The gate list could not be read.");
    if (BigInt(path.leaf) !== BigInt(this.ticket.commitment)) {
      throw new Error("The published gate list still has this ticket's previous key. The organizer publishes a new list before doors; try again then.");
    }
    this.base = {
      root: path.root,
      scope: this.scope.toString(),
      secret: secret.toString(),
      leafIndex: String(path.token_id),
      siblings: path.siblings,
    };
    this.status("Making your code (a zero-knowledge proof, about two seconds)…");
    await this.codeFor(id.timeWindow(this.now()));
    this.tick();
    this.timer = setInterval(() => this.tick(), 500);
  }

  /** The payload for `window`, proved once (and shared by concurrent callers). */
  codeFor(window) {
    if (!this.codes.has(window)) {
      const input = { ...this.base, challenge: id.windowChallenge(this.scope, window).toString() };
      const started = performance.now();
      const made = prove(input).then(({ proof, publicSignals }) => {
        this.lastProveMs = performance.now() - started;
        return encodePayload(proof, publicSignals);
      });
      made.catch(() => this.codes.delete(window));
      this.codes.set(window, made);
    }
    return this.codes.get(window);
  }

  async tick() {
    if (this.stopped) return;
    const t = this.now();
    const window = id.timeWindow(t);
    const left = Math.ceil((window + 1) * id.WINDOW_S - t);
    // the next window's code is proved ahead (12 s: a loaded phone may take several seconds)
    if (left <= 12) this.codeFor(window + 1).catch(() => {});
    for (const w of this.codes.keys()) if (w < window - 1) this.codes.delete(w);
    let text;
    try {
      text = await this.codeFor(window);
    } catch (error) {
      this.status(`Your code could not be made: ${error.message}`, "bad");
      return;
    }
    if (this.stopped) return;
    // a code that came late is still shown when nothing newer is: gates accept the previous
    // window for a few seconds (their clock skew), and a newer one replaces it as soon as made
    const current = id.timeWindow(this.now());
    if (current > window + 1 || (this.shown ?? -1) >= window) {
      if (this.shown === current) this.showStatus(current);
      return;
    }
    this.shown = window;
    const canvas = this.dialog.querySelector("canvas");
    await QRCode.toCanvas(canvas, text, { errorCorrectionLevel: "M", margin: 4, width: 360 });
    this.dialog.querySelector(".gate-payload").value = text;
    this.dialog.dataset.window = String(window);
    canvas.hidden = false;
    this.dialog.querySelector("details").hidden = false;
    this.showStatus(window);
  }

  showStatus(window) {
    const from = window * id.WINDOW_S;
    const left = Math.max(0, Math.ceil(from + id.WINDOW_S - this.now()));
    this.status(`Valid ${fmtTime(from)}–${fmtTime(from + id.WINDOW_S)} UTC. A new code comes in ${left} s.`, "ok");
  }

  stop() {
    this.stopped = true;
    clearInterval(this.timer);
  }
}
