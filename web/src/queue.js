// The waiting room page (/event/<id>/queue): joins the queue without a page load, then follows
// the fan's place (GET /queue/<id>/status, the queue token travels in its HttpOnly cookie) and
// goes to the event page's purchase form when the fan is admitted. The page works without this
// script (a plain form and a reload); status changes are announced (role="status").
const root = document.getElementById("queue");
const event = root?.dataset.event;

function minutes(seconds) {
  if (seconds < 1) return "any moment now";
  if (seconds < 60) return `under a minute (about ${Math.ceil(seconds)} s)`;
  const m = Math.round(seconds / 60);
  return `about ${m} minute${m === 1 ? "" : "s"}`;
}

// Times as the page shows them (api.routes.queue.event_clock): the event's local time with its
// offset, "18:00:00 (UTC+01:00)", whatever the browser's time zone or clock habit.
const offsetMin = Number(root?.dataset.offsetMin || 0);
function eventClock(iso) {
  const local = new Date(Date.parse(iso) + offsetMin * 60_000);
  const two = (n) => String(n).padStart(2, "0");
  const off = Math.abs(offsetMin);
  const sign = offsetMin < 0 ? "-" : "+";
  return `${two(local.getUTCHours())}:${two(local.getUTCMinutes())}:${two(local.getUTCSeconds())} (UTC${sign}${two(Math.floor(off / 60))}:${two(off % 60)})`;
}

function describe(p) {
  if (p.admitted) return "It is your turn: you may buy your tickets now.";
  const opens = Date.parse(p.opens_at);
  if (opens > Date.now()) {
    return `You are number ${p.place}. The sale opens at ${eventClock(p.opens_at)}; you will be let in in turn.`;
  }
  return p.ahead === 0
    ? `You are next (number ${p.place}).`
    : `You are number ${p.place}: ${p.ahead} fan${p.ahead === 1 ? "" : "s"} ahead of you.`;
}

function render(p) {
  const status = document.getElementById("status");
  const text = describe(p);
  if (status && status.textContent !== text) {
    status.textContent = text;
    status.className = `notice ${p.admitted ? "good" : "info"}`;
  }
  const set = (id, value) => {
    const el = document.getElementById(id);
    if (el) el.textContent = String(value);
  };
  set("place", p.place);
  set("ahead", p.ahead);
  set("estimate", p.admitted ? "none" : minutes(p.estimate_s));
  const bar = document.getElementById("progress");
  if (bar) {
    bar.max = p.place;
    bar.value = p.place - p.ahead;
    bar.textContent = `${p.place - p.ahead} of ${p.place}`;
  }
  const go = document.getElementById("go");
  if (go) go.hidden = !p.admitted;
  root.dataset.polled = String(Date.now()); // for people reading the DOM, and for tests
}

async function follow() {
  for (;;) {
    let p;
    try {
      const r = await fetch(`/queue/${event}/status`, { headers: { Accept: "application/json" } });
      if (r.status === 403 || r.status === 404) {
        window.location.reload(); // the place or the room is gone: the page says what to do
        return;
      }
      if (!r.ok) throw new Error(String(r.status));
      p = await r.json();
    } catch {
      await new Promise((ok) => setTimeout(ok, 3000)); // network hiccup: the place is kept
      continue;
    }
    render(p);
    if (p.admitted) {
      setTimeout(() => window.location.assign(root.dataset.next), 1500);
      return;
    }
    // poll faster when close; never more than once a second
    const wait = Math.min(5000, Math.max(1000, (p.estimate_s * 1000) / 4));
    await new Promise((ok) => setTimeout(ok, wait));
  }
}

const join = document.getElementById("join");
if (join) {
  join.addEventListener("submit", async (e) => {
    e.preventDefault();
    const r = await fetch(`/queue/${event}/join`, { method: "POST", headers: { Accept: "application/json" } });
    if (r.ok) window.location.reload();
    else join.submit();
  });
}
if (root && document.getElementById("status")) {
  if (root.dataset.admitted === "true") setTimeout(() => window.location.assign(root.dataset.next), 1500);
  else follow();
}
