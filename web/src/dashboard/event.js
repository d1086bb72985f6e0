// Event page: charts drawn with uPlot from the JSON of /dashboard/events/<id>/stats.json, kept
// live by server-sent events (/stream). Every chart has its numbers in a table beside it (and
// a CSV export), so the page reads without the canvas too.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

const COLORS = ["#1d4ed8", "#b45309", "#166534", "#7c3aed", "#be123c", "#0f766e"];

function width(el) {
  return Math.max(260, Math.min(el.clientWidth || 600, 900));
}

function lineChart(el, title, labels, stepped = false) {
  const paths = stepped ? uPlot.paths.stepped({ align: 1 }) : undefined;
  const opts = {
    title,
    width: width(el),
    height: 220,
    scales: {
      x: { time: true, range: (u, min, max) => (min === max || min === null ? [(min ?? Date.now() / 1000) - 300, (max ?? Date.now() / 1000) + 60] : [min, max]) },
      y: { range: (u, min, max) => [0, Math.max(1, max ?? 1)] },
    },
    series: [{}, ...labels.map((label, i) => ({ label, stroke: COLORS[i % COLORS.length], width: 2, paths }))],
    axes: [{}, { size: 50 }],
  };
  return new uPlot(opts, [[], ...labels.map(() => [])], el);
}

function text(id, value) {
  const el = document.getElementById(id);
  if (el) el.textContent = value;
}

function renderTiers(data) {
  const body = document.querySelector("#tiers tbody");
  if (!body) return;
  for (const t of data.tiers) {
    const row = body.querySelector(`tr[data-tier="${t.index}"]`);
    if (!row) continue;
    row.querySelector(".n-card").textContent = t.card;
    row.querySelector(".n-eth").textContent = t.eth;
    row.querySelector(".n-left").textContent = t.left;
  }
}

function renderRefusals(data) {
  const body = document.querySelector("#refusals tbody");
  if (!body || !data.refusals) return;
  text("refusals-total", data.refusals.total);
  if (!data.refusals.reasons.length) return;
  body.replaceChildren(
    ...data.refusals.reasons.map((r) => {
      const tr = document.createElement("tr");
      tr.dataset.reason = r.reason;
      for (const [label, value] of [["Reason", r.reason.replaceAll("_", " ")], ["Refusals", r.count]]) {
        const td = document.createElement("td");
        td.dataset.label = label;
        td.textContent = value;
        tr.appendChild(td);
      }
      return tr;
    }),
  );
}

function renderResales(data) {
  const body = document.querySelector("#resales tbody");
  if (!body) return;
  body.replaceChildren(
    ...data.resales.items.slice(-20).reverse().map((r) => {
      const tr = document.createElement("tr");
      const cells = [
        ["When", new Date(r.t * 1000).toISOString().slice(0, 19).replace("T", " ")],
        ["Ticket", `#${r.token_id}`],
        ["Price", `${r.price_eth} ${data.currency}`],
        ["Cap", r.cap_eth === null ? "?" : `${r.cap_eth} ${data.currency}`],
        ["At cap", r.at_cap ? "yes" : "no"],
      ];
      for (const [label, value] of cells) {
        const td = document.createElement("td");
        td.dataset.label = label;
        td.textContent = value;
        tr.appendChild(td);
      }
      return tr;
    }),
  );
}

export function initEventPage() {
  const live = document.getElementById("live");
  if (!live) return;
  const id = live.dataset.eventId;
  const salesEl = document.getElementById("chart-sales");
  const doorsEl = document.getElementById("chart-doors");
  const tiersEl = document.getElementById("chart-tiers");
  let tierChart = null;
  // the on-chain channel is in the event's currency (ETH, or its token): the page names it
  const onChain = live.dataset.currency || "ETH";
  const sales = lineChart(salesEl, "Tickets sold", ["By card", `For ${onChain}`], true);
  let doors = null;
  let gates = [];
  window.__FG_LIVE__ = { updates: [] };
  const insightsChanged = initInsights(id);

  const render = (data) => {
    // each sale is a step up; the line runs on to now
    const now = Date.now() / 1000;
    const t = data.sales.t.length ? [...data.sales.t, Math.max(now, data.sales.t.at(-1))] : [];
    const last = (a) => (a.length ? [...a, a.at(-1)] : []);
    sales.setData([t, last(data.sales.card), last(data.sales.eth)]);
    if (!tierChart && tiersEl) tierChart = lineChart(tiersEl, "Sold per tier", data.tiers.map((x) => x.name), true);
    tierChart?.setData([t, ...data.tiers.map((x) => last(data.sales.per_tier[String(x.index)] ?? []))]);
    text("sales-total", data.sales.total);
    text("sales-card", data.sales.card.at(-1) ?? 0);
    text("sales-eth", data.sales.eth.at(-1) ?? 0);
    text("revenue-card", (data.revenue.card_cents / 100).toFixed(2));
    text("revenue-eth", data.revenue.eth_primary.toFixed(4));
    text("revenue-royalties", data.revenue.royalties_eth.toFixed(4));
    text("resales-count", data.resales.count);
    text("resales-at-cap", data.resales.at_cap);
    text("checkins-total", data.doors.total);
    text("checkins-conflicts", data.doors.conflicts);
    const names = Object.keys(data.doors.gates);
    if (names.join() !== gates.join()) {
      gates = names;
      doors?.destroy();
      doorsEl.replaceChildren();
      doors = names.length ? lineChart(doorsEl, "Check-ins per minute", names) : null;
    }
    if (doors) {
      // every minute from one before the first check-in to one after the last, zeros included
      const m = data.doors.minutes;
      const from = m[0] - 60;
      const to = Math.min(m.at(-1) + 60, from + 60 * 60 * 24);
      const xs = [];
      for (let x = from; x <= to; x += 60) xs.push(x);
      const at = new Map(m.map((x, i) => [x, i]));
      doors.setData([xs, ...names.map((g) => xs.map((x) => (at.has(x) ? data.doors.gates[g][at.get(x)] : 0)))]);
    }
    renderTiers(data);
    renderResales(data);
    renderRefusals(data);
    live.dataset.total = data.sales.total;
    live.dataset.checkins = data.doors.total;
    window.__FG_LIVE__.updates.push({ at: Date.now(), total: data.sales.total, checkins: data.doors.total });
    insightsChanged(data.sales.total);
  };

  fetch(`/dashboard/events/${id}/stats.json`, { credentials: "same-origin" })
    .then((r) => r.json())
    .then(render)
    .catch(() => {});
  const source = new EventSource(`/dashboard/events/${id}/stream`);
  source.addEventListener("stats", (e) => render(JSON.parse(e.data)));
  source.addEventListener("open", () => text("live-status", "Live: updates appear as they happen."));
  source.addEventListener("error", () => text("live-status", "Reconnecting to live updates…"));
  window.addEventListener("resize", () => {
    sales.setSize({ width: width(salesEl), height: 220 });
    doors?.setSize({ width: width(doorsEl), height: 220 });
    tierChart?.setSize({ width: width(tiersEl), height: 220 });
  });
}

// ---- forecasts and signals (recomputed on the server: fetched on load, then at most every 20 s
// while sales keep coming)
const KINDS = {
  accumulating: "Accumulating wallet",
  quick_flip: "Quick flip at the cap",
  ring: "Ring of wallets",
  order_burst: "Burst of card orders",
  chargebacks: "Chargebacks",
};

function cell(label, value, cls) {
  const td = document.createElement("td");
  td.dataset.label = label;
  td.textContent = value;
  if (cls) td.className = cls;
  return td;
}

const day = (ts) => new Date(ts * 1000).toISOString().slice(0, 16).replace("T", " ") + " UTC";
const short = (s) => (s.startsWith("0x") && s.length === 42 ? `${s.slice(0, 6)}…${s.slice(-4)}` : s);

export function renderInsights(data) {
  const f = document.querySelector("#forecast tbody");
  f?.replaceChildren(
    ...data.forecasts.map((x) => {
      const tr = document.createElement("tr");
      let what = x.reason || "";
      let range = "";
      if (x.sells_out === true && !x.reason) {
        what = `Sells out ${day(x.sellout_at)}`;
        range = `${day(x.sellout_low)} – ${day(x.sellout_high)}`;
      } else if (x.sells_out === false && !x.reason) {
        what = `${x.left_at_doors} left at doors`;
        range = `${x.left_low} – ${x.left_high} left`;
      } else if (x.sells_out === true) {
        what = "Sold out";
      }
      tr.append(
        cell("Tier", x.name),
        cell("Sold", `${x.sold} / ${x.supply}`),
        cell("Forecast", what, "forecast-what"),
        cell("Range", range),
        cell("Chance to sell out", x.probability_sellout === null ? "" : `${Math.round(x.probability_sellout * 100)} %`),
      );
      return tr;
    }),
  );
  const s = document.querySelector("#signals tbody");
  if (!s) return;
  if (!data.signals.length) {
    const tr = document.createElement("tr");
    const none = cell("Signal", "None so far");
    none.colSpan = 3;
    tr.append(none);
    s.replaceChildren(tr);
    return;
  }
  s.replaceChildren(
    ...data.signals.map((x) => {
      const tr = document.createElement("tr");
      tr.dataset.kind = x.kind;
      const who = cell("Who", short(x.subject), "mono");
      who.title = x.subject;
      tr.append(cell("Signal", KINDS[x.kind] ?? x.kind), who, cell("Evidence", x.evidence));
      return tr;
    }),
  );
}

export function initInsights(id) {
  let loaded = null; // the sales total the table shows
  let timer = null;
  const load = async (total) => {
    try {
      const r = await fetch(`/dashboard/events/${id}/insights.json`, { credentials: "same-origin" });
      if (r.ok) {
        renderInsights(await r.json());
        loaded = total;
      }
    } catch {
      /* shown again at the next change */
    }
  };
  load(null);
  // a new sale: recompute a moment later (sales in a burst are taken together)
  return (total) => {
    if (total === loaded || timer) return;
    timer = setTimeout(() => {
      timer = null;
      load(total);
    }, 1500);
  };
}
