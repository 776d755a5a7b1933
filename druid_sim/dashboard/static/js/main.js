// The dashboard's shell: which view shows, the refresh loop, the header, the control token, and signing
// in to a secured cluster (signin.js).
//
// Everything is refreshed by short polling (every 750 ms by default; `?refresh=MS` changes it), one
// round at a time, and not at all while the tab is hidden. Each round reads the clock, the cluster and
// the faults from the control API, then whatever the visible view needs.

import { CallError, control, token, whenUnauthorized } from "./api.js";
import { $, $$, duration, setText, shortTime } from "./dom.js";
import { clusterView } from "./cluster.js";
import { presenter } from "./controls.js";
import { replayView } from "./replay.js";
import { servicesView } from "./services.js";
import { signIn } from "./signin.js";
import { supervisorsView } from "./supervisors.js";
import { tasksView } from "./tasks.js";
import { trafficView } from "./traffic.js";

const VIEWS = { tasks: tasksView, supervisors: supervisorsView, services: servicesView, cluster: clusterView, traffic: trafficView, replay: replayView };
const MAX_SAMPLES = 720;
// A round every 750 ms: a change shows within a second even when it lands just after a round (pace + round).
const DEFAULT_PACE_MS = 750;

function refreshInterval() {
  const asked = Number(new URLSearchParams(location.search).get("refresh"));
  return Number.isFinite(asked) && asked > 0 ? Math.min(10000, Math.max(200, asked)) : DEFAULT_PACE_MS;
}

/** What every part of the page reads: the last answers, plus histories kept by the page itself. */
const state = {
  health: null,
  clock: null, // {now, nowMillis, scale, frozen, startMillis, fetchedAt}
  cluster: null,
  faults: [],
  samples: [], // [{t, values}] tasks by state over virtual time
  leaders: [], // [{t, state, url, fault}] leader changes seen
  view: "tasks",
  controlError: null,
};

const context = {
  state,
  refreshNow,
  interval: refreshInterval(),
  openTask(id) {
    location.hash = "#tasks";
    showView("tasks");
    tasksView.open(id, context);
  },
  /** The Tasks view, filtered on a group of tasks (a supervisor's: the console's "Go to tasks"). */
  showTasks(filter) {
    location.hash = "#tasks";
    showView("tasks");
    tasksView.filterTo(filter, context);
    refreshNow();
  },
  /** The cluster was reset or replaced (reset, scenario or cassette load): forget what the page kept. */
  forgetHistory() {
    state.samples = [];
    state.leaders = [];
    for (const view of Object.values(VIEWS)) view.forget?.(context);
  },
  /** The virtual time now, moved on locally between polls at the clock's speed. */
  virtualNow() {
    const clock = state.clock;
    if (!clock) return null;
    return clock.nowMillis + (clock.frozen ? 0 : (performance.now() - clock.fetchedAt) * clock.scale);
  },
};

// -- views -------------------------------------------------------------------------------------------

function showView(name) {
  if (!VIEWS[name] || (name === "replay" && !isReplaying())) name = "tasks";
  state.view = name;
  for (const section of $$(".view")) section.hidden = section.dataset.view !== name;
  for (const tab of $$(".tab")) tab.classList.toggle("active", tab.dataset.view === name);
  VIEWS[name].shown?.(context);
}

function viewFromHash() {
  const name = location.hash.slice(1).split("&")[0];
  const before = state.view;
  showView(name in VIEWS ? name : "tasks");
  if (state.view !== before) refreshNow(); // the view reads its own data: now, not at the next round
}

function isReplaying() {
  return Boolean(state.health && state.health.cassette);
}

// -- the header ----------------------------------------------------------------------------------------

function renderHeader() {
  const health = state.health;
  if (health) {
    const cassette = health.cassette ? health.cassette.split("/").pop() : null;
    setText("#mode-badge", cassette ? `replaying ${cassette}` : "simulated");
    $("#mode-badge").classList.toggle("replay", Boolean(cassette));
    setText("#scenario-badge", health.scenario ? `scenario ${health.scenario}` : "no scenario");
    $("#replay-tab").hidden = !cassette;
  }
  const leader = state.cluster && state.cluster.leader;
  const badge = $("#leader-badge");
  if (leader) {
    const host = leader.url ? leader.url.replace(/^https?:\/\//, "") : "";
    const text =
      leader.state === "leading" ? "leader: this server" : leader.state === "none" ? "no leader" : `leader moved → ${host}`;
    setText(badge, text + (leader.intermittent ? " (some requests)" : ""));
    badge.className = `fact leader leader-${leader.state}`;
  }
  renderClock();
  const badgeToken = $("#token-badge");
  badgeToken.hidden = !token.get() && document.body.dataset.tokenRequired !== "true";
  setText(badgeToken, token.get() ? "token ✓" : "token needed");
}

function renderClock() {
  const now = context.virtualNow();
  if (now === null) return;
  const text = shortTime(new Date(Math.floor(now / 1000) * 1000).toISOString());
  const speed = state.clock.frozen ? "frozen" : `×${state.clock.scale}`;
  setText("#clock-badge", `${text} · ${speed}`);
  $("#clock-badge").classList.toggle("frozen", state.clock.frozen);
  presenter.renderClock(context, text, speed);
}

// -- polling -------------------------------------------------------------------------------------------

function sample(cluster) {
  const samples = state.samples;
  const t = cluster.timeMillis;
  const last = samples[samples.length - 1];
  if (last && t < last.t) context.forgetHistory(); // the clock went back: a reset or a new scenario
  const point = { t, values: cluster.tasks };
  if (last && last.t === t) samples[samples.length - 1] = point;
  else samples.push(point);
  if (samples.length > MAX_SAMPLES) samples.splice(0, samples.length - MAX_SAMPLES);
  const leader = cluster.leader;
  const previous = state.leaders[state.leaders.length - 1];
  if (!previous || previous.state !== leader.state || previous.url !== leader.url) {
    state.leaders.push({ t, ...leader });
    if (state.leaders.length > 50) state.leaders.shift();
  }
}

function showNotice(message) {
  const notice = $("#notice");
  notice.hidden = !message;
  setText(notice, message || "");
}

/**
 * Another client (curl, a test, another tab) loaded a scenario or a cassette: forget what the page kept
 * about the old cluster and read what the new one is, as after the presenter's own Load.
 */
let healthEpoch = 0; // moved on by loadHealth: a round's answer asked before it is older news

async function noticeSwitch(health, epoch) {
  if (epoch !== healthEpoch) return;
  const before = state.health;
  state.health = health;
  if (!before || (before.scenario === health.scenario && before.cassette === health.cassette)) return;
  context.forgetHistory();
  renderHeader();
  await signIn.load();
}

async function round() {
  const epoch = healthEpoch;
  const calls = [control("clock"), control("cluster"), control("faults"), control("health")];
  // the Traffic tab's counter, while another view shows (the Traffic view reads the journal itself)
  if (state.view !== "traffic") calls.push(trafficView.count());
  const [clock, cluster, faults, health] = await Promise.allSettled(calls);
  const failed = [clock, cluster, faults, health].find((result) => result.status === "rejected");
  if (health.status === "fulfilled") await noticeSwitch(health.value, epoch);
  if (clock.status === "fulfilled") state.clock = { ...clock.value, fetchedAt: performance.now() };
  if (cluster.status === "fulfilled") {
    state.cluster = cluster.value;
    sample(cluster.value);
  }
  if (faults.status === "fulfilled") state.faults = faults.value.faults;
  if (failed) {
    const error = failed.reason;
    state.controlError = error;
    if (error instanceof CallError && error.status === 401) showNotice("The control API needs the token: enter it to see the cluster.");
    else if (error instanceof CallError && error.status === 0) showNotice(`The server is not answering (${error.message}); retrying.`);
    else showNotice(`The control API answered: ${error.message}`);
  } else if (state.controlError) {
    state.controlError = null;
    showNotice(null);
  }
  renderHeader();
  presenter.render(context);
  await presenter.follow(context);
  const view = VIEWS[state.view];
  try {
    await view.refresh(context);
  } catch (error) {
    if (!(error instanceof CallError)) throw error;
  }
}

let running = null;
let again = false;
let timer = null;

/** Run a round now (or right after the one running), then keep the usual pace. */
function refreshNow() {
  if (running) {
    again = true;
    return running;
  }
  clearTimeout(timer);
  running = (async () => {
    const started = performance.now();
    try {
      do {
        again = false;
        if (!document.hidden) await round();
      } while (again);
    } finally {
      running = null;
      // the pace counts from the round's start, so a slow round does not stretch the time to the next one
      timer = setTimeout(refreshNow, Math.max(50, context.interval - (performance.now() - started)));
    }
  })();
  return running;
}

/** What the server serves: its health, and whether its cluster is secured (which may ask to sign in). */
async function loadHealth() {
  healthEpoch += 1;
  try {
    state.health = await control("health");
  } catch {
    state.health = null;
  }
  renderHeader();
  await signIn.load();
}

// -- the token -----------------------------------------------------------------------------------------

function askForToken(message) {
  const dialog = $("#token-dialog");
  if (dialog.open) return;
  setText("#token-error", token.get() ? "That token was refused. " + (message || "") : "");
  $("#token-input").value = "";
  dialog.showModal();
}

function setUpToken() {
  token.takeFromFragment();
  whenUnauthorized(askForToken);
  $("#token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = $("#token-input").value.trim();
    if (!value) return;
    token.set(value);
    $("#token-dialog").close();
    Promise.all([presenter.load(context), signIn.load()]).then(refreshNow);
  });
  $("#token-badge").addEventListener("click", () => askForToken(""));
  if (document.body.dataset.tokenRequired === "true" && !token.get()) askForToken("");
}

// -- start -----------------------------------------------------------------------------------------------

function start() {
  setUpToken();
  signIn.setUp({
    changed() {
      for (const view of Object.values(VIEWS)) view.userChanged?.(context);
      refreshNow();
    },
  });
  for (const view of Object.values(VIEWS)) view.setUp(context);
  presenter.setUp(context, { afterReload: loadHealth });
  window.addEventListener("hashchange", viewFromHash);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) refreshNow();
  });
  viewFromHash();
  setInterval(renderClock, 250);
  loadHealth().then(() => {
    viewFromHash();
    presenter.load(context);
    refreshNow();
  });
}

// The page's state, for people poking at it from the browser's console.
window.druidSim = { state, refreshNow, duration };
start();
