// The presenter's controls: the virtual clock, the scenario, fault presets and the faults in force.
// Every change is a public control-API call; its outcome is said in one line under the controls.

import { control } from "./api.js";
import { $, $$, h, setText, timeOfDay } from "./dom.js";
import { presenterMode } from "./presentermode.js";
import { describeWindow, presetTiming } from "./windows.js";

let presets = [];
let scenarios = [];
let lastScale = 1;
let afterReload = async () => {};
let listedFor; // the server's scenario when the list was drawn: redrawn when it changes, not over the presenter's pick

const FOLDED_KEY = "druid-sim-presenter-folded";

function say(message, failed = false) {
  const line = $("#control-result");
  setText(line, message);
  line.classList.toggle("failed", failed);
  fitColumn();
}

/**
 * The column fits the screen without scrolling of its own: when the armed faults would not fit, their
 * counters go into each fault's tooltip (the name, its window and ✕ stay); if that is not enough, the
 * scenario's description shrinks to one line and the presets' timings go (both are in tooltips).
 */
function fitColumn() {
  const column = $(".presenter");
  column.classList.remove("dense", "denser");
  for (const level of ["dense", "denser"]) {
    if (column.scrollHeight <= column.clientHeight) return;
    column.classList.add(level);
  }
}

/** A click on a section's title folds its buttons away (the title line stays: the clock keeps its time), per tab. */
function setUpFolding() {
  let folded;
  try {
    folded = new Set(JSON.parse(sessionStorage.getItem(FOLDED_KEY) || "[]"));
  } catch {
    folded = new Set();
  }
  for (const section of $$(".presenter section[data-fold]")) {
    const button = section.querySelector("button.fold");
    const show = () => {
      const shut = folded.has(section.dataset.fold);
      section.classList.toggle("folded", shut);
      button.setAttribute("aria-expanded", String(!shut));
      fitColumn();
    };
    button.addEventListener("click", () => {
      if (folded.has(section.dataset.fold)) folded.delete(section.dataset.fold);
      else folded.add(section.dataset.fold);
      sessionStorage.setItem(FOLDED_KEY, JSON.stringify([...folded]));
      show();
    });
    show();
  }
}

/** Run a control call from a button: disable it meanwhile, say what happened, refresh the page. */
async function act(button, what, call, context, { reload = false } = {}) {
  if (button) button.disabled = true;
  try {
    const answer = await call();
    say(typeof what === "function" ? await what(answer) : what);
    if (reload) {
      context.forgetHistory();
      await afterReload();
    }
  } catch (error) {
    say(error.message, true);
  } finally {
    if (button) button.disabled = false;
    context.refreshNow();
  }
}

/**
 * A scenario load or a reset: the server starts the cluster again and puts the clock back to its start at
 * its initial speed. The page keeps the speed the presenter had chosen and says plainly where the clock went.
 */
function restarting(button, what, call, context) {
  const before = context.state.clock;
  act(
    button,
    async (answer) => {
      presenterMode.forget();
      const clock = answer && answer.clock ? answer.clock : await control("clock");
      let speed = clock.frozen ? "frozen" : `×${clock.scale}`;
      if (before && before.scale !== clock.scale) {
        await control("clock", { method: "POST", body: before.frozen ? { freeze: true } : { scale: before.scale } });
        speed = before.frozen ? "frozen, as before" : `×${before.scale}, as before`;
      }
      const from = clock.rewoundFrom ? ` from ${timeOfDay(clock.rewoundFrom)}` : "";
      return `${what}: tasks, faults and journal started again; the clock went back${from} to its start, ${timeOfDay(clock.now)}, and runs ${speed}.`;
    },
    call,
    context,
    { reload: true },
  );
}

function renderScenarios(context) {
  const select = $("#scenario-select");
  const current = context.state.health ? context.state.health.scenario : null;
  listedFor = current;
  const options = scenarios.map((s) => h("option", { value: s.name, title: s.description || s.problem || "" }, s.name));
  if (current && !scenarios.some((s) => s.name === current)) options.unshift(h("option", { value: current }, current));
  // no scenario (a cassette replayed on its own): the picker says so rather than showing the first one
  if (!current) options.unshift(h("option", { value: "" }, "no scenario"));
  select.replaceChildren(...options);
  select.value = current || "";
  describeScenario(context);
}

function replaying(context) {
  const health = context.state.health;
  return health && health.cassette ? health.cassette.split("/").pop() : null;
}

function describeScenario(context) {
  const picked = $("#scenario-select").value;
  const chosen = scenarios.find((s) => s.name === picked);
  const cassette = replaying(context);
  let text = chosen ? chosen.description || chosen.problem || "" : "";
  if (cassette) {
    text = picked
      ? `This server replays ${cassette}: loaded, the scenario builds the model behind the cassette, which still answers all it recorded.`
      : `This server replays ${cassette} with no scenario behind it.`;
  }
  setText("#scenario-description", text);
  $("#scenario-description").title = text;
  fitColumn();
  $("#scenario-load").disabled = !picked;
}

let drawnPresets = null;

function renderPresets(context) {
  const clock = context.state.clock;
  const signature = JSON.stringify([presets.map((preset) => preset.name), clock && clock.scale, clock && clock.frozen]);
  if (signature === drawnPresets) return; // unchanged: keep the buttons under the presenter's pointer
  drawnPresets = signature;
  const buttons = presets.map((preset) => {
    const timing = presetTiming(preset, clock);
    return h(
      "button",
      {
        type: "button",
        class: timing ? "preset windowed" : "preset",
        title: timing ? `${preset.description} (${timing})` : preset.description,
        dataset: { preset: preset.name },
        onclick: (event) => {
          let slowed = "";
          act(
            event.currentTarget,
            (answer) => `Armed “${preset.title}”: ${answer.added.map((f) => f.name).join(", ")}.${slowed}`,
            async () => {
              slowed = await presenterMode.beforeArming(preset, context);
              return control(`faults/presets/${encodeURIComponent(preset.name)}`, { method: "POST" });
            },
            context,
          );
        },
      },
      h("strong", {}, preset.title),
      h("small", {}, preset.description),
      timing ? h("small", { class: "timing" }, timing) : null,
    );
  });
  $("#presets").replaceChildren(...buttons);
}

function faultSummary(fault) {
  const parts = [fault.kind];
  if (fault.kind === "error") parts.push(String(fault.status));
  if (fault.kind === "redirect") parts.push(`→ ${fault.to.replace(/^https?:\/\//, "").split(/[.:]/)[0]}`);
  if (fault.when) {
    const when = fault.when;
    if (when.probability !== undefined) parts.push(`p=${when.probability}`);
    if (when.every !== undefined) parts.push(`every ${when.every}`);
    if (when.first !== undefined) parts.push(`first ${when.first}`);
    if (when.nth !== undefined) parts.push(`#${when.nth}`);
  }
  return parts.join(" · ");
}

let drawnFaults = null;

function renderFaults(context) {
  const faults = context.state.faults || [];
  const clock = context.state.clock;
  const now = context.virtualNow();
  const windows = faults.map((fault) => describeWindow(fault, clock, now));
  const signature = JSON.stringify(faults) + JSON.stringify(windows);
  if (signature === drawnFaults) return; // unchanged: keep the buttons under the presenter's pointer
  drawnFaults = signature;
  const items = faults.map((fault, i) => {
    const window = windows[i];
    return h(
      "li",
      { dataset: { fault: fault.name, phase: window ? window.phase : "always" }, class: window && window.phase === "over" ? "over" : null },
      h(
        "div",
        { class: "fault-text", title: `${faultSummary(fault)} · fired ${fault.fired} of ${fault.seen} · from ${fault.source}` },
        h("strong", {}, fault.name),
        window ? h("small", { class: "window", title: "the window, in virtual time" }, h("b", {}, window.range), ` · ${window.text}`) : null,
        h("small", { class: "counters" }, `${faultSummary(fault)} · fired ${fault.fired} of ${fault.seen}`),
      ),
      h("button", {
        type: "button",
        class: "ghost remove",
        title: `remove ${fault.name}`,
        "aria-label": `remove ${fault.name}`,
        onclick: (event) =>
          act(event.currentTarget, `Removed ${fault.name}`, () => control(`faults/${encodeURIComponent(fault.name)}`, { method: "DELETE" }), context),
      }, "✕"),
    );
  });
  const list = $("#faults-list");
  if (!items.length) items.push(h("li", { class: "none" }, "none: every request is answered normally"));
  list.replaceChildren(...items);
  setText("#faults-count", faults.length ? String(faults.length) : "");
  $("#faults-clear").hidden = faults.length === 0;
  fitColumn();
}

export const presenter = {
  setUp(context, hooks) {
    afterReload = hooks.afterReload;
    $("#clock-freeze").addEventListener("click", (event) => {
      const clock = context.state.clock;
      const frozen = clock && clock.frozen;
      presenterMode.speedChosen();
      act(event.currentTarget, frozen ? `Clock running at ×${lastScale}` : "Clock frozen", () =>
        control("clock", { method: "POST", body: frozen ? { scale: lastScale } : { freeze: true } }), context);
    });
    for (const button of $$("[data-scale]")) {
      button.addEventListener("click", () => {
        const scale = Number(button.dataset.scale);
        presenterMode.speedChosen();
        act(button, `Clock running at ×${scale}`, () => control("clock", { method: "POST", body: { scale } }), context);
      });
    }
    for (const button of $$("[data-advance]")) {
      button.addEventListener("click", () => {
        const step = button.dataset.advance;
        act(button, (clock) => `Advanced ${step}: now ${clock.now}`, () => control("clock", { method: "POST", body: { advance: step } }), context);
      });
    }
    $("#scenario-select").addEventListener("change", () => describeScenario(context));
    $("#scenario-load").addEventListener("click", (event) => {
      const name = $("#scenario-select").value;
      if (!name) return;
      const cassette = replaying(context);
      const behind = cassette ? ` behind the replayed ${cassette} (the cassette still answers all it recorded)` : "";
      restarting(event.currentTarget, `Loaded scenario ${name}${behind}`, () => control("scenario", { method: "POST", body: { scenario: name } }), context);
    });
    $("#reset").addEventListener("click", (event) => {
      restarting(event.currentTarget, "Reset to the scenario's start", () => control("reset", { method: "POST" }), context);
    });
    presenterMode.setUp();
    setUpFolding();
    window.addEventListener("resize", fitColumn);
    $("#faults-clear").addEventListener("click", (event) => {
      act(event.currentTarget, (answer) => `Removed ${answer.cleared} faults`, () => control("faults", { method: "DELETE" }), context);
    });
  },

  /** What changes rarely: the built-in scenarios and the presets. */
  async load(context) {
    try {
      const [listed, offered] = await Promise.all([control("scenarios"), control("faults/presets")]);
      scenarios = listed.scenarios;
      presets = offered.presets;
    } catch (error) {
      say(error.message, true);
    }
    renderScenarios(context);
    renderPresets(context);
  },

  render(context) {
    const clock = context.state.clock;
    if (clock && !clock.frozen && clock.scale > 0) lastScale = clock.scale;
    const select = $("#scenario-select");
    const current = context.state.health ? context.state.health.scenario : null;
    if (document.activeElement !== select && current !== listedFor && scenarios.length) renderScenarios(context);
    renderFaults(context);
    renderPresets(context);
  },

  /** Presenter mode's look at the clock and the windows, once a round; says what it did. */
  async follow(context) {
    try {
      const did = await presenterMode.check(context);
      if (did) {
        say(did);
        context.refreshNow();
      }
    } catch (error) {
      say(error.message, true);
    }
  },

  renderClock(context, text, speed) {
    setText("#clock-now", text);
    const clock = context.state.clock;
    $("#clock-now").title = `virtual time: ${clock.frozen ? "frozen, it moves only when advanced" : `${speed}, virtual seconds per real second`}`;
    setText("#clock-freeze", clock.frozen ? "Resume" : "Freeze");
    for (const button of $$("[data-scale]")) button.classList.toggle("active", !clock.frozen && Number(button.dataset.scale) === clock.scale);
  },
};
