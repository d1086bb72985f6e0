// The development checkout page: pay with a test card, then follow the order until its tickets
// are minted. The page is rendered by the bridge in its current state (pay / paid / minted /
// declined / refunded); this script only moves it forward. Status lines are announced
// (role="status"), and nothing here ever sees a key or a secret.
const root = document.getElementById("checkout");
const form = document.getElementById("pay");
const statusLine = document.getElementById("status");
const ticketsBox = document.getElementById("tickets");
const ticketList = document.getElementById("ticket-list");
const payment = root?.dataset.payment;
const FINAL = new Set(["minted", "declined", "expired", "cancelled", "refunded", "revoked", "failed"]);

function show(text, kind) {
  statusLine.textContent = text;
  statusLine.className = `notice ${kind}`;
}

function render(status) {
  show(status.text, status.notice);
  if (status.tickets.length) {
    ticketList.replaceChildren(
      ...status.tickets.map((t) => {
        const li = document.createElement("li");
        li.textContent = `Ticket ${t.token_id} (${t.state})`;
        return li;
      }),
    );
    ticketsBox.hidden = false;
  }
}

async function follow() {
  for (;;) {
    const r = await fetch(`/checkout/${payment}/status`, { headers: { Accept: "application/json" } });
    if (!r.ok) {
      show("Could not read the order's state; reload the page to try again.", "bad");
      return;
    }
    const status = await r.json();
    render(status);
    if (FINAL.has(status.order_state)) return;
    await new Promise((ok) => setTimeout(ok, 1000));
  }
}

form?.addEventListener("submit", async (e) => {
  e.preventDefault();
  const button = form.querySelector("button");
  button.disabled = true;
  show("Paying…", "warn");
  const card = document.getElementById("card").value;
  const r = await fetch(`/checkout/${payment}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ card_number: card }),
  });
  let body = {};
  try {
    body = await r.json();
  } catch {
    body = {};
  }
  if (!r.ok) {
    show(body?.error?.message ? `Payment refused: ${body.error.message}` : "Payment failed.", "bad");
    button.disabled = false;
    return;
  }
  if (body.outcome !== "paid") {
    show("The card was declined. Try another card.", "bad");
    button.disabled = false;
    return;
  }
  form.hidden = true;
  await follow();
});

if (root && ["paid", "minting"].includes(root.dataset.state)) follow();
