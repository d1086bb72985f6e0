// The fan pages' wallet: EIP-6963 discovery (a picker when there are several wallets), EIP-1193
// requests through viem, a chain check with a switch prompt, buying in the event's currency
// (/event/{id}: ETH as the value, or an ERC-20 token through an approval the fan signs first),
// and on /me the fan's tickets with every market action and "Show at the gate".
//
// No key ever touches this page: transactions and signatures are made by the fan's wallet. Ticket
// secrets are derived here from one wallet signature (fan/identity.js, as zk/identity.py does)
// and stay in this tab's memory; only commitments are sent. Every transaction is simulated first,
// so a contract refusal (PriceAboveCap, ResaleClosed, ...) is shown in plain words before the fan
// signs anything, and then shown as pending, confirmed (with its hash) or failed.
import { createStore } from "mipd";
import { createClient, custom, formatUnits, getAddress, parseUnits, toHex } from "viem";
// viem/actions one by one (not the createPublicClient/WalletClient decorators, which pull in every
// action viem has, ENS included): a third of the page's JavaScript.
import { readContract, simulateContract, waitForTransactionReceipt, writeContract } from "viem/actions";
import * as id from "./fan/identity.js";
import { plainError } from "./fan/errors.js";
import { ForeignKey, GateCode, warmUp } from "./fan/gate.js";

const $ = (sel, root = document) => root.querySelector(sel);
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v === true) node.setAttribute(k, "");
    else if (v !== false && v != null) node.setAttribute(k, v);
  }
  for (const c of children.flat()) if (c != null) node.append(c);
  return node;
};
const ZERO = "0x0000000000000000000000000000000000000000";
const ETH = { address: ZERO, symbol: "ETH", decimals: 18 };
// the event's currency (/events/{id}/chain): amounts travel in its smallest unit
const currency = () => state.event?.currency || ETH;
const inToken = () => currency().address !== ZERO;
const money = (units) => `${formatUnits(BigInt(units), currency().decimals)} ${currency().symbol}`;
// what a token payment needs of ERC-20: the allowance the event's contract may take
const ERC20 = [
  { type: "function", name: "allowance", stateMutability: "view", inputs: [{ name: "owner", type: "address" }, { name: "spender", type: "address" }], outputs: [{ type: "uint256" }] },
  { type: "function", name: "approve", stateMutability: "nonpayable", inputs: [{ name: "spender", type: "address" }, { name: "amount", type: "uint256" }], outputs: [{ type: "bool" }] },
  { type: "function", name: "balanceOf", stateMutability: "view", inputs: [{ name: "account", type: "address" }], outputs: [{ type: "uint256" }] },
];
const short = (a) => `${a.slice(0, 6)}…${a.slice(-4)}`;
const json = async (url, opts) => {
  const r = await fetch(url, opts);
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body?.error?.message || `request failed (${r.status})`);
  return body;
};

const root = $("#wallet");
const state = {
  eventId: root?.dataset.event ? Number(root.dataset.event) : null,
  store: createStore(),
  detail: null, // the chosen EIP-6963 provider detail
  account: null,
  walletChain: null,
  event: null, // /events/{id}/chain
  abi: null,
  seed: null,
  gate: null,
};

// ------------------------------------------------------------------ transactions and their states

function logEntry(label) {
  const log = $(".tx-log", root);
  const item = el("p", { class: "notice warn tx", "data-state": "waiting", "data-states": "waiting" }, `${label}: waiting for your wallet…`);
  log.prepend(item);
  const mark = (s) => {
    item.dataset.state = s;
    item.dataset.states += ` ${s}`; // the path it took, for people reading the DOM and for tests
  };
  return {
    pending(hash) {
      mark("pending");
      item.className = "notice warn tx";
      item.replaceChildren(`${label}: pending… `, el("span", { class: "mono" }, hash));
    },
    confirmed(hash, block) {
      mark("confirmed");
      item.className = "notice ok tx";
      item.replaceChildren(`${label}: confirmed in block ${block}. Transaction `, el("span", { class: "mono" }, hash));
    },
    failed(message) {
      mark("failed");
      item.className = "notice bad tx";
      item.replaceChildren(`${label}: ${message}`);
      item.setAttribute("role", "alert");
    },
  };
}

/** Simulate, then send through the wallet, then wait: each step is shown to the fan. The event's
 * contract unless `target` ({address, abi}) names another (the event's token, to approve). */
async function transact(label, functionName, args, value = 0n, target = null) {
  const entry = logEntry(label);
  try {
    await ensureChain();
    const request = {
      address: target?.address || state.event.address,
      abi: target?.abi || state.abi,
      functionName,
      args,
      value,
      account: state.account,
    };
    await simulateContract(client(), request); // refusals in plain words, before signing
    const hash = await writeContract(client(), { ...request, chain: null });
    entry.pending(hash);
    const receipt = await waitForTransactionReceipt(client(), { hash, pollingInterval: 250 });
    if (receipt.status !== "success") throw new Error("The transaction failed on-chain.");
    entry.confirmed(hash, receipt.blockNumber);
    return receipt;
  } catch (error) {
    entry.failed(plainError(error, state.abi || [], money));
    return null;
  }
}

/** Pay `price` to the event's contract with `functionName`: the value in ETH; in a token, the
 * fan first approves exactly what is missing of the price (its own transaction, shown as such),
 * and the contract takes it. A balance short of the price is said before anything is signed. */
async function pay(label, functionName, args, price) {
  if (!inToken()) return transact(label, functionName, args, price);
  const token = { address: currency().address, abi: ERC20 };
  try {
    await ensureChain();
    const read = (name, a) => readContract(client(), { ...token, functionName: name, args: a });
    const held = await read("balanceOf", [state.account]);
    if (held < price) throw new Error(`This wallet holds ${money(held)}; this costs ${money(price)}.`);
    const allowed = await read("allowance", [state.account, state.event.address]);
    if (allowed < price) {
      const ok = await transact(`Allowing the event to take ${money(price)}`, "approve", [state.event.address, price], 0n, token);
      if (!ok) return null;
    }
  } catch (error) {
    showError(error);
    return null;
  }
  return transact(label, functionName, args, 0n);
}

// ------------------------------------------------------------------ wallet connection

const provider = () => state.detail.provider;
const client = () => createClient({ account: state.account, transport: custom(provider()), pollingInterval: 250 });

function renderWallet() {
  const slot = $(".wallet-slot", root);
  const providers = state.store.getProviders();
  if (state.account) {
    const right = state.event && state.walletChain === state.event.chain_id;
    slot.replaceChildren(
      el("p", {}, `Connected with ${state.detail.info.name}: `, el("span", { class: "mono account" }, state.account)),
      right
        ? el("p", { class: "notice ok chain-ok" }, `Your wallet is on the event's network (chain ${state.event.chain_id}).`)
        : el(
            "div",
            { class: "notice warn chain-wrong", role: "alert" },
            el("p", {}, `Your wallet is on chain ${state.walletChain}; this event's tickets are on chain ${state.event?.chain_id}.`),
            el("button", { type: "button", class: "switch-chain", onclick: () => switchChain().catch(showError) }, "Switch network"),
          ),
      el("button", { type: "button", class: "secondary disconnect", onclick: disconnect }, "Use another wallet"),
    );
    return;
  }
  if (!providers.length) {
    slot.replaceChildren(
      el("p", { class: "notice warn" }, "No browser wallet was found. Install one, or buy by card and claim your tickets into a wallet later."),
    );
    return;
  }
  const list = el("ul", { class: "wallet-picker", "aria-label": "Browser wallets" });
  for (const detail of providers) {
    list.append(
      el(
        "li",
        {},
        el(
          "button",
          { type: "button", class: "secondary pick-wallet", "data-rdns": detail.info.rdns, onclick: () => connect(detail).catch(showError) },
          detail.info.icon ? el("img", { src: detail.info.icon, alt: "", width: 24, height: 24 }) : null,
          `Connect ${detail.info.name}`,
        ),
      ),
    );
  }
  slot.replaceChildren(
    el("p", {}, providers.length > 1 ? "Choose the wallet to use:" : "Connect your wallet to buy or manage tickets:"),
    list,
  );
}

function showError(error) {
  const slot = $(".tx-log", root);
  slot.prepend(el("p", { class: "notice bad", role: "alert" }, plainError(error, state.abi || [], money)));
}

async function connect(detail) {
  state.detail = detail;
  const accounts = await detail.provider.request({ method: "eth_requestAccounts" });
  if (!accounts?.length) throw new Error("The wallet shared no account.");
  state.account = getAddress(accounts[0]);
  state.walletChain = Number(await detail.provider.request({ method: "eth_chainId" }));
  detail.provider.on?.("chainChanged", (c) => {
    state.walletChain = Number(c);
    renderWallet();
  });
  detail.provider.on?.("accountsChanged", (a) => {
    state.account = a?.length ? getAddress(a[0]) : null;
    state.seed = null;
    renderWallet();
    refresh();
  });
  state.seed = null;
  renderWallet();
  await refresh();
}

function disconnect() {
  state.detail = null;
  state.account = null;
  state.seed = null;
  renderWallet();
  refresh();
}

async function switchChain() {
  const chainId = toHex(state.event.chain_id);
  try {
    await provider().request({ method: "wallet_switchEthereumChain", params: [{ chainId }] });
  } catch (error) {
    // the bridge does not publish a node URL (it may carry a key), so the page cannot add the
    // network for the fan: it says what to add
    if (error?.code === 4902) {
      throw new Error(`Your wallet does not know this event's network (chain ${state.event.chain_id}). Add it in your wallet's network settings, then try again.`);
    }
    throw error;
  }
  state.walletChain = Number(await provider().request({ method: "eth_chainId" }));
  renderWallet();
}

async function ensureChain() {
  if (!state.account) throw new Error("Connect a wallet first.");
  if (state.walletChain !== state.event.chain_id) await switchChain();
  if (state.walletChain !== state.event.chain_id) throw new Error("Switch your wallet to the event's network first.");
}

/** The wallet seed: one signature of the fixed message per visit, kept in memory only. */
async function seed() {
  if (state.seed) return state.seed;
  const signature = await provider().request({ method: "personal_sign", params: [toHex(id.SEED_MESSAGE), state.account] });
  state.seed = await id.walletSeed(signature, state.account);
  return state.seed;
}

async function freshCommitments(count) {
  const holder = await json(`/events/${state.eventId}/holders/${state.account}`);
  const fresh = await id.freshSecrets(await seed(), BigInt(state.event.scope), holder.used_commitments, count);
  return fresh.map((f) => id.commitmentHex(f.commitment));
}

// ------------------------------------------------------------------ the event page: buy on-chain

function bindBuyButtons() {
  for (const box of document.querySelectorAll(".buy[data-tier]")) {
    box.hidden = false;
    $(".buy-eth", box).addEventListener("click", async () => {
      if (!state.account) {
        showError(new Error("Connect a wallet first (below)."));
        $(".pick-wallet", root)?.focus();
        return;
      }
      const tier = Number(box.dataset.tier);
      const count = Math.max(1, Math.min(10, Number($("input[name=qty]", box).value) || 1));
      const price = BigInt(box.dataset.faceValue) * BigInt(count);
      let commitments;
      try {
        await ensureChain();
        commitments = await freshCommitments(count);
      } catch (error) {
        showError(error);
        return;
      }
      const receipt = await pay(`Buying ${count} ticket${count > 1 ? "s" : ""} for ${money(price)}`, "purchase", [BigInt(tier), commitments], price);
      if (receipt) {
        $(".tx-log", root).prepend(el("p", {}, el("a", { href: `/me?event=${state.eventId}` }, "See your tickets")));
      }
    });
  }
}

// ------------------------------------------------------------------ /me: tickets and the market

const tierOf = (i) => state.event.tiers[i] || { name: `Tier ${i}`, resale_cap_wei: "0", royalty_bps: 0 };

function priceForm(t, label, onSubmit) {
  const tier = tierOf(t.tier_id);
  const inputId = `price-${t.token_id}`;
  const hintId = `cap-${t.token_id}`;
  const input = el("input", { id: inputId, name: "price", type: "text", inputmode: "decimal", "aria-describedby": hintId, value: formatUnits(BigInt(tier.resale_cap_wei), currency().decimals) });
  const form = el(
    "form",
    { class: "inline-form price-form" },
    el("label", { for: inputId }, `Price for ticket #${t.token_id} (${currency().symbol})`),
    input,
    el("p", { class: "hint cap", id: hintId }, `Resale cap: ${money(tier.resale_cap_wei)} (${tier.resale_cap_bps / 100}% of face value). The organizer receives ${tier.royalty_bps / 100}% of the price as royalty.`),
    el("button", { type: "submit" }, label),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    let units;
    try {
      if (!/^[0-9]+([.][0-9]+)?$/.test(input.value.trim())) throw new Error("not an amount");
      units = parseUnits(input.value.trim(), currency().decimals);
    } catch {
      showError(new Error(`Enter the price in ${currency().symbol}, for example ${formatUnits(BigInt(tier.resale_cap_wei), currency().decimals)}.`));
      return;
    }
    onSubmit(units);
  });
  return form;
}

function addressForm(t) {
  const inputId = `gift-${t.token_id}`;
  const input = el("input", { id: inputId, name: "to", type: "text", autocomplete: "off", spellcheck: "false", placeholder: "0x…" });
  const form = el("form", { class: "inline-form gift-form" }, el("label", { for: inputId }, `Wallet that receives ticket #${t.token_id}`), input, el("button", { type: "submit" }, "Gift"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    let to;
    try {
      to = getAddress(input.value.trim());
    } catch {
      showError(new Error("Enter the receiving wallet's address (0x followed by 40 hex digits)."));
      return;
    }
    if (await transact(`Gifting ticket #${t.token_id}`, "list", [BigInt(t.token_id), 0n, to])) refresh();
  });
  return form;
}

function ticketCard(t) {
  const tier = tierOf(t.tier_id);
  const status = t.listing
    ? t.listing.reserved_for
      ? `Offered as a gift to ${short(t.listing.reserved_for)}`
      : `For sale at ${money(t.listing.price_wei)}`
    : t.resale_open
      ? "Yours"
      : "Yours (resale closed: it can no longer change hands)";
  const actions = el("div", { class: "actions" });
  const panel = el("div", { class: "action-panel" });
  const open = (node) => {
    panel.replaceChildren(node);
    node.querySelector("input")?.focus();
  };
  const button = (label, cls, fn) => el("button", { type: "button", class: `secondary ${cls}`, onclick: fn }, label);
  if (state.event.cancelled) {
    if (t.refundable) {
      actions.append(button("Claim refund", "refund", async () => {
        if (await transact(`Refund of ticket #${t.token_id}`, "claimRefund", [[BigInt(t.token_id)], state.account])) refresh();
      }));
    } else {
      actions.append(el("p", { class: "hint" }, "A card ticket: its buyer's card is refunded. Given to you? It becomes refundable here once the organizer funds its refund."));
    }
  } else {
    actions.append(button("Show at the gate", "show-gate", () => showAtGate(t)));
    if (t.resale_open) {
      if (t.listing) {
        actions.append(
          button("Change price", "change-price", () =>
            open(priceForm(t, "Change price", async (wei) => {
              if (await transact(`New price for ticket #${t.token_id}`, "list", [BigInt(t.token_id), wei, "0x0000000000000000000000000000000000000000"])) refresh();
            })),
          ),
          button("Cancel listing", "cancel-listing", async () => {
            if (await transact(`Cancelling the listing of ticket #${t.token_id}`, "cancelListing", [BigInt(t.token_id)])) refresh();
          }),
        );
      } else {
        actions.append(
          button("Sell", "sell", () =>
            open(priceForm(t, "List for sale", async (wei) => {
              if (await transact(`Listing ticket #${t.token_id} at ${money(wei)}`, "list", [BigInt(t.token_id), wei, "0x0000000000000000000000000000000000000000"])) refresh();
            })),
          ),
          button("Gift", "gift", () => open(addressForm(t))),
        );
      }
    }
  }
  return el(
    "li",
    { class: "card ticket stack", "data-token": t.token_id },
    el("h3", {}, `Ticket #${t.token_id} · ${tier.name}`),
    el("p", { class: "status" }, status),
    actions,
    panel,
  );
}

function listingRow(l) {
  const gift = l.reserved_for && getAddress(l.reserved_for) === state.account;
  const label = gift ? `Accept the gift of ticket #${l.token_id}` : `Buy ticket #${l.token_id} for ${money(l.price_wei)}`;
  return el(
    "li",
    { class: "card listing", "data-token": l.token_id },
    el("p", {}, `Ticket #${l.token_id} · ${tierOf(l.tier_id).name} · ${gift ? "a gift for you" : money(l.price_wei)}`),
    el("button", {
      type: "button",
      class: "buy-listing",
      onclick: async () => {
        try {
          await ensureChain();
          const [commitment] = await freshCommitments(1);
          if (await pay(label, "buy", [BigInt(l.token_id), commitment], BigInt(l.price_wei))) refresh();
        } catch (error) {
          showError(error);
        }
      },
    }, gift ? "Accept gift" : `Buy for ${money(l.price_wei)}`),
  );
}

async function refreshMe() {
  const mine = $("#my-tickets");
  const market = $("#market-list");
  if (!mine) return;
  if (!state.account || !state.event) {
    mine.replaceChildren(el("li", { class: "hint" }, "Connect a wallet to see your tickets."));
    market.replaceChildren();
    return;
  }
  const [holder, listings] = await Promise.all([
    json(`/events/${state.eventId}/holders/${state.account}`),
    json(`/events/${state.eventId}/listings`),
  ]);
  if (holder.tickets.length && !state.event.cancelled && !state.warmed) {
    state.warmed = true; // fetch the circuit into the prover before the fan asks for a code
    warmUp().catch(() => (state.warmed = false));
  }
  const note = $("#me-cancelled");
  if (note) note.hidden = !state.event.cancelled;
  await showProceeds();
  mine.replaceChildren(...(holder.tickets.length ? holder.tickets.map(ticketCard) : [el("li", { class: "hint" }, "No tickets of this event in this wallet.")]));
  const forMe = listings.filter(
    (l) => getAddress(l.seller) !== state.account && (!l.reserved_for || getAddress(l.reserved_for) === state.account),
  );
  market.replaceChildren(...(forMe.length ? forMe.map(listingRow) : [el("li", { class: "hint" }, "Nothing on resale right now.")]));
  $("#me-state")?.setAttribute("data-loaded", String(Date.now()));
}

/** The wallet's pull balance on this event (`pendingOf`): a card ticket's first resale pays its
 * seller the price above face value (less royalty) there at once, and a payment the contract could
 * not push waits there. Shown with a button that withdraws all of it. */
async function showProceeds() {
  const box = $("#my-proceeds");
  if (!box) return;
  const owed = await readContract(client(), {
    address: state.event.address,
    abi: state.abi,
    functionName: "pendingOf",
    args: [state.account],
  });
  box.hidden = owed === 0n;
  if (owed === 0n) return box.replaceChildren();
  box.replaceChildren(
    el("span", {}, `Proceeds of your sales waiting for you: ${money(owed)}. `),
    el("button", {
      type: "button",
      class: "withdraw-proceeds",
      onclick: async () => {
        if (await transact(`Withdrawing ${money(owed)} of proceeds`, "withdrawPending", [])) refresh();
      },
    }, `Withdraw ${money(owed)}`),
  );
}

async function refresh() {
  try {
    await refreshMe();
  } catch (error) {
    showError(error);
  }
}

// ------------------------------------------------------------------ custody claims (card tickets)

function bindClaimForm() {
  const form = $("#claim-form");
  if (!form) return;
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const order = form.elements.order.value.trim();
    const token = form.elements.token.value.trim();
    const entry = logEntry(`Claiming the tickets of order ${order}`);
    try {
      if (!state.account) throw new Error("Connect the wallet that should receive the tickets first.");
      const headers = { "X-Order-Token": token };
      const { message } = await json(`/orders/${encodeURIComponent(order)}/claim-message?wallet=${state.account}`, { headers });
      const signature = await provider().request({ method: "personal_sign", params: [toHex(message), state.account] });
      const out = await json(`/orders/${encodeURIComponent(order)}/claims`, {
        method: "POST",
        headers: { ...headers, "Content-Type": "application/json" },
        body: JSON.stringify({ wallet: state.account, signature: toHex(id.normaliseSignature(signature)) }),
      });
      entry.confirmed(`tickets ${out.tickets.map((t) => "#" + t).join(", ")} are being moved to your wallet (${out.state})`, "-");
    } catch (error) {
      entry.failed(plainError(error, state.abi || [], money));
    }
  });
}

// The link in a ticket e-mail: /me?event=<id>&order=<order>#claim=<claim token>. The token comes
// after "#" (never sent to a server, so never in its logs or a Referer); it is filled into the
// claim (or, on a cancelled event, the refund) form and taken out of the address bar at once.
function fillFromLink() {
  const token = new URLSearchParams(window.location.hash.slice(1)).get("claim");
  if (!token) return;
  history.replaceState(null, "", window.location.pathname + window.location.search);
  const field = $("#claim-token") || $("#refund-token");
  if (field) field.value = token;
  const filled = $("#claim-filled");
  if (filled) filled.hidden = false;
  if ($("#refund-form") && $("#refund-order")?.value) showRefund();
}

// ------------------------------------------------------------------ a card order's refund

const cardMoney = (cents, currency) => `${(cents / 100).toFixed(2)} ${currency.toUpperCase()}`;
const GIVEN = new Set(["given_away", "refund_funded"]);
const TICKET_REFUND = {
  revoked: "revoked; its price is refunded to your card",
  not_revocable: "stays with the buyer you sold it to, who is refunded on-chain",
  given_away: "you gave it away: its holder is refunded on-chain, not your card",
  refund_funded: "you gave it away: its holder can now claim its face value on-chain",
  issued: "being revoked",
};

// Where a card order's refund is, in the words of the refund e-mails (api.services.notifications).
function refundLines(o) {
  const head = `Order ${o.id} (${o.quantity} ticket${o.quantity === 1 ? "" : "s"}, ${cardMoney(o.amount_cents, o.currency)})`;
  switch (o.state) {
    case "refund_pending":
      return [`${head}: your refund of ${cardMoney(o.amount_cents, o.currency)} to your card is under way.`];
    case "refunded":
      return [`${head}: refunded, ${cardMoney(o.amount_cents, o.currency)} back to your card. No tickets were issued.`];
    case "revoking":
    case "revoked": {
      const gone = o.tickets.filter((t) => GIVEN.has(t.state)).length;
      const back = o.quantity ? Math.floor((o.amount_cents * (o.quantity - gone)) / o.quantity) : 0;
      const verb = o.state === "revoked" ? "refunded" : "being refunded";
      return [`${head}: ${cardMoney(back, o.currency)} ${verb} to your card.`, ...o.tickets.map((t) => `Ticket #${t.token_id}: ${TICKET_REFUND[t.state] || t.state}.`)];
    }
    case "cancelled":
    case "expired":
    case "declined":
      return [`${head}: it was never paid, so there is nothing to refund.`];
    default:
      return [`${head}: paid; its refund has not started yet. It starts when the bridge processes the cancellation: look again in a few minutes.`];
  }
}

async function showRefund() {
  const form = $("#refund-form");
  const out = $("#refund-state");
  const order = form.elements.order.value.trim();
  const token = form.elements.token.value.trim();
  try {
    const o = await json(`/orders/${encodeURIComponent(order)}`, { headers: { "X-Order-Token": token } });
    out.replaceChildren(...refundLines(o).map((line, i) => el("p", { class: i ? "" : `notice ${o.state === "refunded" || o.state === "revoked" ? "ok" : "warn"}` }, line)));
    out.dataset.state = o.state;
  } catch (error) {
    out.replaceChildren(el("p", { class: "notice bad", role: "alert" }, plainError(error, [])));
    out.dataset.state = "error";
  }
}

function bindRefundForm() {
  $("#refund-form")?.addEventListener("submit", (e) => {
    e.preventDefault();
    showRefund();
  });
}

// ------------------------------------------------------------------ show at the gate

async function showAtGate(t) {
  const dialog = $("#gate");
  if (!dialog) return;
  state.gate?.stop();
  $(".gate-actions", dialog)?.replaceChildren();
  try {
    await ensureChain();
    const s = await seed();
    state.gate = new GateCode({ dialog, eventId: state.eventId, ticket: t, scope: BigInt(state.event.scope), seed: s });
    dialog.hidden = false;
    $("h2", dialog).focus();
    await state.gate.start();
  } catch (error) {
    if (error instanceof ForeignKey && t.resale_open && !dialog.hidden) {
      // rotateCommitment: the holder replaces the ticket's key with one this wallet derives
      state.gate.status(`${error.message} Make a new key for it with this wallet: one transaction, and the old key stops working.`, "warn");
      $(".gate-actions", dialog).replaceChildren(
        el("button", {
          type: "button",
          class: "rotate-key",
          onclick: async () => {
            try {
              const [commitment] = await freshCommitments(1);
              if (await transact(`New key for ticket #${t.token_id}`, "rotateCommitment", [BigInt(t.token_id), commitment])) {
                dialog.hidden = true;
                refresh();
              }
            } catch (e) {
              showError(e);
            }
          },
        }, "Make a new key with this wallet"),
      );
    } else if (state.gate && !dialog.hidden) state.gate.status(plainError(error, state.abi || [], money), "bad");
    else showError(error);
  }
}

// ------------------------------------------------------------------ start

async function main() {
  if (!root) return;
  // the order forms first, before anything is awaited: a form submitted before its handler is
  // bound would be sent by the browser itself, with its order token in the address
  bindClaimForm();
  bindRefundForm();
  fillFromLink();
  window.addEventListener("hashchange", fillFromLink); // the link opened again in this tab
  if (state.eventId) {
    [state.event, state.abi] = await Promise.all([json(`/events/${state.eventId}/chain`), json("/abi/TicketEvent")]);
  }
  state.store.subscribe(() => {
    if (!state.account) renderWallet();
  });
  renderWallet();
  bindBuyButtons();
  $("#gate-close")?.addEventListener("click", () => {
    state.gate?.stop();
    $("#gate").hidden = true;
  });
  await refresh();
  document.documentElement.dataset.fanReady = "1";
}

main().catch(showError);
