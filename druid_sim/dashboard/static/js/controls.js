// The presenter's controls: the virtual clock, the scenario, fault presets and the faults in force.
// Every change is a public control-API call; its outcome is said in one line under the controls.

import { control } from "./api.js";
import { $, $$, h, setText } from "./dom.js";

let presets = [];
let scenarios = [];
let lastScale = 1;
let afterReload = async () => {};
let listedFor; // the server's scenario when the list was drawn: redrawn when it changes, not over the presenter's pick

function say(message, failed = false) {
  const line = $("#control-result");
  setText(line, message);
  line.classList.toggle("failed", failed);
}

/** Run a control call from a button: disable it meanwhile, say what happened, refresh the page. */
async function act(button, what, call, context, { reload = false } = {}) {
  if (button) button.disabled = true;
  try {
    const answer = await call();
    say(typeof what === "function" ? what(answer) : what);
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

function renderScenarios(context) {
  const select = $("#scenario-select");
  const current = context.state.health ? context.state.health.scenario : null;
  listedFor = current;
  const options = scenarios.map((s) => h("option", { value: s.name, title: s.description || s.problem || "" }, s.name));
  if (current && !scenarios.some((s) => s.name === current)) options.unshift(h("option", { value: current }, current));
  select.replaceChildren(...options);
  if (current) select.value = current;
  describeScenario();
}

function describeScenario() {
  const chosen = scenarios.find((s) => s.name === $("#scenario-select").value);
  setText("#scenario-description", chosen ? chosen.description || chosen.problem || "" : "");
}

function renderPresets(context) {
  const buttons = presets.map((preset) =>
    h(
      "button",
      {
        type: "button",
        class: "preset",
        title: preset.description,
        dataset: { preset: preset.name },
        onclick: (event) =>
          act(
            event.currentTarget,
            (answer) => `Armed “${preset.title}”: ${answer.added.map((f) => f.name).join(", ")}`,
            () => control(`faults/presets/${encodeURIComponent(preset.name)}`, { method: "POST" }),
            context,
          ),
      },
      h("strong", {}, preset.title),
      h("small", {}, preset.description),
    ),
  );
  $("#presets").replaceChildren(...buttons);
}

function faultSummary(fault) {
  const parts = [fault.kind];
  if (fault.kind === "error") parts.push(String(fault.status));
  if (fault.kind === "redirect") parts.push(`→ ${fault.to.replace(/^https?:\/\//, "")}`);
  if (fault.when) {
    const when = fault.when;
    if (when.probability !== undefined) parts.push(`p=${when.probability}`);
    if (when.every !== undefined) parts.push(`every ${when.every}`);
    if (when.first !== undefined) parts.push(`first ${when.first}`);
    if (when.nth !== undefined) parts.push(`#${when.nth}`);
    if (when.between) parts.push(`t ${when.between[0]}–${when.between[1] ?? "∞"}`);
  }
  return parts.join(" · ");
}

/** Where the virtual clock stands in a fault's time window: "window over", "starts in 20s" or nothing. */
function windowState(fault, clock) {
  const between = fault.when && fault.when.between;
  if (!between || !clock) return "";
  const elapsed = (clock.nowMillis - clock.startMillis) / 1000;
  const start = parseFloat(between[0]);
  const end = between[1] === null ? Infinity : parseFloat(between[1]);
  if (elapsed >= end) return "window over";
  if (elapsed < start) return `starts in ${Math.ceil(start - elapsed)}s`;
  return "";
}

let drawnFaults = null;

function renderFaults(context) {
  const faults = context.state.faults || [];
  const signature = JSON.stringify(faults) + faults.map((fault) => windowState(fault, context.state.clock)).join();
  if (signature === drawnFaults) return; // unchanged: keep the buttons under the presenter's pointer
  drawnFaults = signature;
  const items = faults.map((fault) => {
    const window = windowState(fault, context.state.clock);
    return h(
      "li",
      { dataset: { fault: fault.name }, class: window === "window over" ? "over" : null },
      h(
        "div",
        { class: "fault-text" },
        h("strong", {}, fault.name, window ? h("small", { class: "window" }, ` (${window})`) : null),
        h("small", {}, `${faultSummary(fault)} · ${fault.source}`),
        h("small", { class: "counters" }, `fired ${fault.fired} of ${fault.seen} requests`),
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
}

export const presenter = {
  setUp(context, hooks) {
    afterReload = hooks.afterReload;
    $("#clock-freeze").addEventListener("click", (event) => {
      const clock = context.state.clock;
      const frozen = clock && clock.frozen;
      act(event.currentTarget, frozen ? `Clock running at ×${lastScale}` : "Clock frozen", () =>
        control("clock", { method: "POST", body: frozen ? { scale: lastScale } : { freeze: true } }), context);
    });
    for (const button of $$("[data-scale]")) {
      button.addEventListener("click", () => {
        const scale = Number(button.dataset.scale);
        act(button, `Clock running at ×${scale}`, () => control("clock", { method: "POST", body: { scale } }), context);
      });
    }
    for (const button of $$("[data-advance]")) {
      button.addEventListener("click", () => {
        const step = button.dataset.advance;
        act(button, (clock) => `Advanced ${step}: now ${clock.now}`, () => control("clock", { method: "POST", body: { advance: step } }), context);
      });
    }
    $("#scenario-select").addEventListener("change", describeScenario);
    $("#scenario-load").addEventListener("click", (event) => {
      const name = $("#scenario-select").value;
      act(event.currentTarget, `Loaded scenario ${name}: the cluster, clock, faults and journal started again`, () =>
        control("scenario", { method: "POST", body: { scenario: name } }), context, { reload: true });
    });
    $("#reset").addEventListener("click", (event) => {
      act(event.currentTarget, "Reset: back to the scenario's start", () => control("reset", { method: "POST" }), context, { reload: true });
    });
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
    if (current && document.activeElement !== select && current !== listedFor && scenarios.length) renderScenarios(context);
    renderFaults(context);
  },

  renderClock(context, text, speed) {
    setText("#clock-now", text);
    const clock = context.state.clock;
    setText("#clock-speed", clock.frozen ? "frozen: moves only when advanced" : `running at ${speed} (virtual seconds per second)`);
    setText("#clock-freeze", clock.frozen ? "Resume" : "Freeze");
    for (const button of $$("[data-scale]")) button.classList.toggle("active", !clock.frozen && Number(button.dataset.scale) === clock.scale);
  },
};
