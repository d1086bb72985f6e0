// The gate scanner page (served by the gate device, gate/app.py): reads ticket codes with the
// camera (jsQR in scanner.worker.js: Chromium on Linux has no BarcodeDetector) or from a typed or
// pasted text, asks the device for a verdict, and shows it large with a sound. Every decision is
// the device's.
//
// Pairing: the gate's key arrives in the link's fragment (#key=...), which browsers never send;
// it is kept in localStorage, removed from the address bar, and sent as a Bearer token.
//
// One scan per code: the same text is ignored while it stays in view (seen again within
// SAME_CODE_MS); once it has been out of view that long, showing it again is a new scan.
// Timing (for scripts/bench_gate_scanner.py): window.fairgateScanner.timings holds, per scan,
// from the capture time of the first camera frame that can hold the code to the verdict painted.

const KEY_STORE = "fairgate.gateKey";
const SAME_CODE_MS = 1500;
const READY_MS = 700;
const STATUS_EVERY_MS = 3000;

const $ = (id) => document.getElementById(id);
const state = {
  key: null,
  stream: null,
  busy: false,
  lastText: null,
  lastSeen: 0,
  blankFrame: null, // {presented, time} of the last frame decoded without the current code
  frameMs: 100,
  audio: null,
  timings: [],
  verdicts: [],
};
window.fairgateScanner = state;

// ------------------------------------------------------------------------------- pairing

function readKey() {
  const hash = new URLSearchParams(location.hash.slice(1));
  const fromLink = hash.get("key");
  if (fromLink) {
    localStorage.setItem(KEY_STORE, fromLink);
    history.replaceState(null, "", location.pathname + location.search);
  }
  return localStorage.getItem(KEY_STORE);
}

async function api(path, options = {}) {
  const response = await fetch(path, {
    ...options,
    headers: {
      Authorization: `Bearer ${state.key}`,
      ...(options.body ? { "Content-Type": "application/json" } : {}),
    },
  });
  if (response.status === 401) {
    unpair("This device's gate key was refused. Pair it again.");
    throw new Error("unpaired");
  }
  return response;
}

function showPairing(message) {
  $("scanner").hidden = true;
  $("pair").hidden = false;
  const error = $("pair-error");
  error.hidden = !message;
  error.textContent = message || "";
}

function unpair(message) {
  localStorage.removeItem(KEY_STORE);
  state.key = null;
  stopCamera();
  showPairing(message);
}

// ------------------------------------------------------------------------------- verdicts

function audio() {
  try {
    if (!state.audio) {
      state.audio = new AudioContext();
      state.audio.onstatechange = () => {
        $("sound-on").hidden = state.audio.state !== "suspended";
      };
    }
  } catch {
    return null; // no audio device: the verdict is on screen anyway
  }
  // browsers keep sound off until a person touches the page
  $("sound-on").hidden = state.audio.state !== "suspended";
  return state.audio;
}

function beep(admitted) {
  try {
    const ctx = audio();
    if (!ctx) return;
    const tones = admitted ? [[880, 0, 0.15]] : [[220, 0, 0.18], [220, 0.25, 0.18]];
    for (const [freq, at, length] of tones) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = freq;
      gain.gain.value = 0.2;
      osc.connect(gain).connect(ctx.destination);
      osc.start(ctx.currentTime + at);
      osc.stop(ctx.currentTime + at + length);
    }
  } catch {
    // no audio device: the verdict is on screen anyway
  }
}

function show(verdict) {
  const box = $("verdict");
  box.className = `verdict ${verdict.admitted ? "admitted" : "refused"}`;
  box.dataset.code = verdict.code;
  box.dataset.sound = verdict.admitted ? "admitted" : "refused";
  box.dataset.seq = String(state.verdicts.length + 1);
  $("verdict-title").textContent = verdict.title;
  $("verdict-reason").textContent = verdict.admitted ? "Let them in." : verdict.reason;
  $("verdict-ready").hidden = true;
  beep(verdict.admitted);
  state.verdicts.push(verdict);
  addRecent(verdict);
  const seq = box.dataset.seq;
  setTimeout(() => {
    if (box.dataset.seq === seq) $("verdict-ready").hidden = false;
  }, READY_MS);
}

function recentItem(verdict) {
  const li = document.createElement("li");
  li.className = verdict.admitted ? "admitted" : "refused";
  const at = new Date(verdict.at * 1000).toLocaleTimeString();
  li.textContent = `${at}: ${verdict.title}${verdict.admitted ? "" : ` (${verdict.reason})`}`;
  return li;
}

function addRecent(verdict) {
  const list = $("recent");
  list.prepend(recentItem(verdict));
  while (list.children.length > 20) list.lastChild.remove();
}

async function submit(code, t0 = null) {
  state.busy = true;
  const asked = performance.now();
  let verdict;
  try {
    const response = await api("/api/scan", { method: "POST", body: JSON.stringify({ code }) });
    if (response.status === 413) {
      verdict = {
        admitted: false, code: "too_large", title: "Not a ticket code",
        reason: "code too large", at: Date.now() / 1000,
      };
    } else if (!response.ok) {
      verdict = {
        admitted: false, code: "error", title: "Could not check",
        reason: `the gate device answered ${response.status}; try again`, at: Date.now() / 1000,
      };
    } else {
      verdict = await response.json();
    }
  } catch (error) {
    state.busy = false;
    if (error.message === "unpaired") return;
    verdict = {
      admitted: false, code: "error", title: "Could not check",
      reason: "the gate device did not answer; try again", at: Date.now() / 1000,
    };
  }
  const answered = performance.now();
  show(verdict);
  state.busy = false;
  if (t0 !== null) {
    // the verdict is in the DOM: it is on screen once the next frame is painted
    requestAnimationFrame(() =>
      requestAnimationFrame(() => {
        const shown = performance.now();
        state.timings.push({
          ms: shown - t0, code: verdict.code, decode_ms: asked - t0,
          fetch_ms: answered - asked, paint_ms: shown - answered,
        });
      }),
    );
  }
  refreshStatus();
}

// ------------------------------------------------------------------------------- camera

const canvas = $("frame");
const context = canvas.getContext("2d", { willReadFrequently: true });

// jsQR runs in a worker (scanner.worker.js): one frame at a time, the next one taken when the
// answer is back, so a slow decode delays the next frame, never a verdict on screen
const decoder = new Worker("/assets/js/scanner.worker.js", { type: "module" });
let decoding = null; // {presented, time} of the frame being decoded

decoder.onmessage = (event) => {
  const frame = decoding;
  decoding = null;
  if (frame) onDecoded(event.data.text, frame);
};

function onDecoded(text, frame) {
  const wall = performance.now();
  if (!text) {
    state.blankFrame = frame;
    if (wall - state.lastSeen > SAME_CODE_MS) state.lastText = null;
  } else if (text === state.lastText && wall - state.lastSeen <= SAME_CODE_MS) {
    state.lastSeen = wall;
  } else if (!state.busy) {
    state.lastText = text;
    state.lastSeen = wall;
    // the code may have been on camera since the frame after the last blank one decoded
    let t0 = frame.time;
    const blank = state.blankFrame;
    if (blank && frame.presented - blank.presented > 1) t0 = blank.time + state.frameMs;
    submit(text, t0);
  }
}

function onFrame(now, meta) {
  if (!state.stream) return;
  const video = $("camera");
  const frameTime = (meta && (meta.captureTime || meta.expectedDisplayTime)) || now;
  state.timeBase = meta && meta.captureTime ? "captureTime" : "expectedDisplayTime";
  const presented = meta ? meta.presentedFrames : 0;
  if (!state.busy && !decoding && video.videoWidth) {
    if (canvas.width !== video.videoWidth) {
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
    }
    context.drawImage(video, 0, 0);
    const image = context.getImageData(0, 0, canvas.width, canvas.height);
    decoding = { presented, time: frameTime };
    const { width, height, data } = image;
    decoder.postMessage({ width, height, buffer: data.buffer }, [data.buffer]);
  }
  video.requestVideoFrameCallback(onFrame);
}

async function startCamera() {
  $("camera-state").textContent = "Starting the camera…";
  try {
    state.stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } },
      audio: false,
    });
  } catch (error) {
    state.stream = null;
    $("camera").parentElement.hidden = true; // no picture to show: the typing field moves up
    $("camera-state").textContent =
      `No camera (${error.name}): type or paste codes below.`;
    return;
  }
  const track = state.stream.getVideoTracks()[0];
  const rate = track.getSettings().frameRate;
  if (rate) state.frameMs = 1000 / rate;
  const video = $("camera");
  video.parentElement.hidden = false;
  video.srcObject = state.stream;
  await video.play();
  $("camera-state").textContent = `Camera on (${track.label || "camera"}): scanning.`;
  $("camera-toggle").textContent = "Stop camera";
  video.requestVideoFrameCallback(onFrame);
}

function stopCamera() {
  if (state.stream) state.stream.getTracks().forEach((t) => t.stop());
  state.stream = null;
  $("camera").srcObject = null;
  $("camera-state").textContent = "Camera off.";
  $("camera-toggle").textContent = "Start camera";
}

// ------------------------------------------------------------------------------- status

function text(id, value) {
  $(id).textContent = value;
}

async function refreshStatus() {
  if (!state.key) return;
  let status;
  try {
    const response = await api("/api/status");
    if (!response.ok) throw new Error(String(response.status));
    status = await response.json();
  } catch (error) {
    if (error.message !== "unpaired") {
      $("online").className = "badge offline";
      text("online", "Gate device not answering");
    }
    return;
  }
  text("gate-name", status.gate_label.replace(/^gate/, "Gate"));
  text("event-name", status.event_name);
  const badge = $("online");
  if (!status.hub.configured) {
    badge.className = "badge";
    text("online", "Stand-alone (no hub)");
  } else if (status.online) {
    badge.className = "badge online";
    text("online", "Online");
  } else {
    badge.className = "badge offline";
    text("online", status.hub.online === null ? "Connecting…" : "Offline: scanning goes on");
  }
  text("last-sync", status.hub.last_sync || "never");
  text("waiting", String(status.hub.waiting));
  text("lists", status.lists);
  text("entries", String(status.entries));
  const rows = Object.entries(status.counter_labels).map(([key, label]) => {
    const tr = document.createElement("tr");
    tr.dataset.counter = key;
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = label;
    const td = document.createElement("td");
    td.textContent = String(status.counters[key]);
    tr.append(th, td);
    return tr;
  });
  $("counters").replaceChildren(...rows);
  const conflicts = status.conflicts.map((c) => {
    const li = document.createElement("li");
    const uses = c.uses.map((u) => `${u.gate} at ${u.at}`).join(", ");
    li.textContent = `Ticket ${c.nullifier.slice(0, 10)}… used at ${uses}`;
    return li;
  });
  $("conflicts").replaceChildren(...conflicts);
  // the gate's recent scans, from every staff device paired with it
  $("recent").replaceChildren(...status.recent.map(recentItem));
  $("conflicts-none").hidden = conflicts.length > 0;
}

// ------------------------------------------------------------------------------- start

function start() {
  state.key = readKey();
  if (!state.key) {
    showPairing("");
    return;
  }
  $("pair").hidden = true;
  $("scanner").hidden = false;
  refreshStatus();
  startCamera();
  audio();
}

$("pair-form").addEventListener("submit", (event) => {
  event.preventDefault();
  localStorage.setItem(KEY_STORE, $("pair-key").value.trim());
  $("pair-key").value = "";
  start();
});
$("paste-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const code = $("paste-code").value.trim();
  if (!code) return;
  submit(code);
  $("paste-code").value = "";
});
$("camera-toggle").addEventListener("click", () => (state.stream ? stopCamera() : startCamera()));
$("sync-now").addEventListener("click", async () => {
  text("online", "Syncing…");
  try {
    await api("/api/sync", { method: "POST" });
  } finally {
    refreshStatus();
  }
});
$("unpair").addEventListener("click", () => unpair(""));
$("sound-on").addEventListener("click", async () => {
  const ctx = audio();
  if (ctx) await ctx.resume();
  $("sound-on").hidden = true;
});
document.addEventListener("pointerdown", () => audio() && state.audio.resume(), { once: true });
setInterval(refreshStatus, STATUS_EVERY_MS);
start();
