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

initSignIn();
initForms(csrf);
initEventPage(csrf);
