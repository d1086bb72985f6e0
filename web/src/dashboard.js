// The organizer dashboard's browser side: Sign-In with Ethereum through an EIP-6963 wallet
// (mipd discovery, EIP-1193 requests; the key never leaves the wallet), and on event pages the
// live charts (uPlot) fed by JSON endpoints and server-sent events.
import { createStore } from "mipd";
import { initEventPage } from "./dashboard/event.js";
import { initForms } from "./dashboard/forms.js";

const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content ?? "";

async function postJSON(url, body) {
  const r = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
    body: JSON.stringify(body),
    credentials: "same-origin",
  });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(data?.error?.message ?? `request failed (${r.status})`);
  return data;
}

async function signIn(detail, box) {
  const err = document.getElementById("signin-error");
  err.hidden = true;
  try {
    const provider = detail.provider;
    const [address] = await provider.request({ method: "eth_requestAccounts" });
    if (!address) throw new Error("the wallet shared no account");
    const { message } = await postJSON("/dashboard/siwe/message", { address });
    const hex = "0x" + Array.from(new TextEncoder().encode(message),
      (b) => b.toString(16).padStart(2, "0")).join("");
    const signature = await provider.request({ method: "personal_sign", params: [hex, address] });
    await postJSON("/dashboard/siwe/verify", { message, signature });
    window.location.assign(box.dataset.after || "/dashboard");
  } catch (e) {
    err.textContent = `Sign-in failed: ${e?.message ?? e}`;
    err.hidden = false;
  }
}

function initSignIn() {
  const box = document.getElementById("signin");
  if (!box) return;
  const list = document.getElementById("wallets");
  const status = document.getElementById("wallets-status");
  const store = createStore();
  const seen = new Set();
  const show = (details) => {
    for (const detail of details) {
      if (seen.has(detail.info.uuid)) continue;
      seen.add(detail.info.uuid);
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = `Sign in with ${detail.info.name}`;
      button.dataset.rdns = detail.info.rdns;
      button.addEventListener("click", () => signIn(detail, box));
      list.appendChild(button);
    }
    status.textContent = seen.size ? "Choose your wallet:" : status.textContent;
  };
  store.subscribe(show, { emitImmediately: true });
  setTimeout(() => {
    if (!seen.size) status.textContent = "No browser wallet found. Install or unlock one, then reload.";
  }, 1500);
}

// An on-chain action of the organizer's wallet (cancel, withdraw) after the second factor passed
function initSignTx() {
  const box = document.getElementById("sign-tx");
  if (!box) return;
  const list = document.getElementById("tx-wallets");
  const status = document.getElementById("tx-status");
  const err = document.getElementById("tx-error");
  const seen = new Set();
  const send = async (detail) => {
    err.hidden = true;
    try {
      const provider = detail.provider;
      const [from] = await provider.request({ method: "eth_requestAccounts" });
      if (from.toLowerCase() !== box.dataset.from.toLowerCase())
        throw new Error(`switch your wallet to ${box.dataset.from}`);
      const hash = await provider.request({
        method: "eth_sendTransaction",
        params: [{ from, to: box.dataset.to, data: box.dataset.data }],
      });
      status.textContent = `Sent (${hash}); waiting for it to be mined…`;
      for (let i = 0; i < 120; i++) {
        const receipt = await provider.request({ method: "eth_getTransactionReceipt", params: [hash] });
        if (receipt) {
          if (receipt.status !== "0x1") throw new Error("the transaction reverted");
          status.textContent = "Done.";
          window.location.assign(box.dataset.done);
          return;
        }
        await new Promise((r) => setTimeout(r, 500));
      }
      throw new Error("the transaction was not mined in time");
    } catch (e) {
      err.textContent = `Not sent: ${e?.message ?? e}`;
      err.hidden = false;
    }
  };
  createStore().subscribe((details) => {
    for (const detail of details) {
      if (seen.has(detail.info.uuid)) continue;
      seen.add(detail.info.uuid);
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = `Confirm with ${detail.info.name}`;
      b.addEventListener("click", () => send(detail));
      list.appendChild(b);
    }
    if (seen.size) status.textContent = "Choose your wallet:";
  }, { emitImmediately: true });
}

initSignIn();
initSignTx();
initForms(csrf);
initEventPage(csrf);
