// Presenter mode: fault windows last long enough in real time to be seen. Fault windows (a preset's
// leader failover, a scenario's "503s from t=1m to t=1m30s") run on the virtual clock, so at ×60 a 30 s
// window is over in half a second, between two refreshes of the page. With presenter mode on, while a
// window is open (or about to open) on a clock running faster than ×1, the page slows the clock to ×1,
// stepping it to the window's start if it would otherwise jump over it, and puts the speed back when no
// window is open any more. Each window is slowed for once: a presenter who speeds up again is obeyed.
// Everything is done with the public POST /__sim/clock, and said in the presenter's result line.

import { control } from "./api.js";
import { $, isoOf } from "./dom.js";
import { clockTime, elapsedSeconds, windowOf } from "./windows.js";

const KEY = "druid-sim-presenter-mode";

let restore = null; // the speed to go back to once no window is open, while the page holds the clock at ×1
const handled = new Set(); // "name@start" of windows slowed for already
let awaited = null; // {names, until}: a preset being armed, slowed for before its faults are read back

function enabled() {
  return $("#presenter-mode").checked;
}

function key(fault, window) {
  return `${fault.name}@${window.start}`;
}

/** The faults with a window that is not over, with the window. */
function windowsAhead(faults, elapsed) {
  return faults
    .map((fault) => ({ fault, window: windowOf(fault) }))
    .filter(({ window }) => window && elapsed < window.end);
}

export const presenterMode = {
  setUp() {
    const box = $("#presenter-mode");
    box.checked = sessionStorage.getItem(KEY) === "on";
    box.addEventListener("change", () => {
      sessionStorage.setItem(KEY, box.checked ? "on" : "off");
      if (!box.checked) restore = null;
    });
  },

  /** A scenario was loaded or reset: what the page remembered about windows is about other windows. */
  forget() {
    restore = null;
    awaited = null;
    handled.clear();
  },

  /** The presenter picked a speed: obey it (no speed to put back afterwards). */
  speedChosen() {
    restore = null;
  },

  /** Before arming a preset with windows: slow to ×1 first, so the window does not pass before the page sees it. */
  async beforeArming(preset, context) {
    const clock = context.state.clock;
    if (!enabled() || !clock || clock.frozen || clock.scale <= 1) return "";
    if (!(preset.faults || []).some((fault) => windowOf(fault))) return "";
    await control("clock", { method: "POST", body: { scale: 1 } });
    restore = restore ?? clock.scale;
    // until its faults are read back, a round would see no window open and put the speed back
    awaited = { names: new Set(preset.faults.map((fault) => fault.name)), until: performance.now() + 5000 };
    return ` Presenter mode: the clock runs at ×1 while its windows are open, then back to ×${restore}.`;
  },

  /** Each round: slow down for an open or imminent window, or put the speed back. Resolves to what it did, or "". */
  async check(context) {
    const clock = context.state.clock;
    if (!enabled() || !clock || clock.frozen) return "";
    const now = context.virtualNow();
    const elapsed = elapsedSeconds(clock, now);
    const ahead = windowsAhead(context.state.faults || [], elapsed);
    const open = ahead.filter(({ window }) => window.start <= elapsed);
    if (awaited) {
      if (!ahead.some(({ fault }) => awaited.names.has(fault.name)) && performance.now() < awaited.until) return "";
      for (const { fault, window } of ahead) if (awaited.names.has(fault.name)) handled.add(key(fault, window));
      awaited = null;
    }
    if (restore !== null && clock.scale !== 1) restore = null; // the presenter changed the speed meanwhile
    if (clock.scale > 1) {
      // the next round comes in about one refresh interval: a window opening before then would be missed
      const horizon = ((context.interval * 1.5) / 1000) * clock.scale;
      const soon = ahead.filter(({ fault, window }) => !handled.has(key(fault, window)) && window.start - elapsed <= horizon);
      if (!soon.length) return "";
      for (const { fault, window } of soon) handled.add(key(fault, window));
      const first = soon.reduce((a, b) => (a.window.start <= b.window.start ? a : b));
      const body = { scale: 1 };
      if (first.window.start > elapsed) body.to = isoOf(clock.startMillis + first.window.start * 1000);
      await control("clock", { method: "POST", body });
      restore = clock.scale;
      const until = Number.isFinite(first.window.end) ? ` until ${clockTime(clock, first.window.end, now)}` : "";
      return `Presenter mode: clock slowed from ×${restore} to ×1 for ${first.fault.name}${until}, so it can be seen.`;
    }
    if (restore !== null && !open.length) {
      const back = restore;
      restore = null;
      await control("clock", { method: "POST", body: { scale: back } });
      return `Presenter mode: no fault window open any more, the clock is back at ×${back}.`;
    }
    return "";
  },
};
