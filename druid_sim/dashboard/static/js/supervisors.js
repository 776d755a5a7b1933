// The Supervisors view, after Druid's web console (Overlord mode): every supervisor from
// GET /druid/indexer/v1/supervisor?full, each with its report from GET /supervisor/{id}/status (the running
// and publishing tasks, the aggregate lag, the recent errors), read each round as the console reads them.
// A row opens a panel with the status report, the spec, the stats and the history; the actions are the
// console's (suspend or resume, hard reset, terminate), each asked for first in the console's words.
//
// On a secured cluster it is what Druid answers the signed-in user: Druid 35 lists the supervisors whose
// datasources the user may WRITE (reference 15.2), so a read-only user sees none; nothing is asked before
// the presenter signs in.

import { PRESENTER, describeDruidFailure, druid } from "./api.js";
import { $, $$, h, plural, setText } from "./dom.js";
import { listing, readAsUser, sayStatus } from "./listing.js";
import { signIn } from "./signin.js";
import { breakable } from "./tasktable.js";

/** The console's colour for a (detailed) state: supervisors-view.tsx, `supervisorStateToColor`. */
export function stateColor(state) {
  switch (state) {
    case "UNHEALTHY_SUPERVISOR":
    case "UNHEALTHY_TASKS":
    case "UNABLE_TO_CONNECT_TO_STREAM":
    case "LOST_CONTACT_WITH_STREAM":
    case "INVALID_SPEC":
      return "#d5100a";
    case "PENDING":
      return "#00eaff";
    case "DISCOVERING_INITIAL_TASKS":
    case "CREATING_TASKS":
    case "CONNECTING_TO_STREAM":
    case "RUNNING":
      return "#2167d5";
    case "IDLE":
      return "#44659d";
    case "STOPPING":
      return "#e75c06";
    case "SUSPENDED":
    case "SCHEDULER_STOPPED":
      return "#ffbf00";
    default:
      return "#0a1500";
  }
}

/** The actions, with the console's confirmation: its question, button, and (hard reset) the checks it asks for. */
const ACTIONS = {
  suspend: { label: "Suspend", button: "Suspend supervisor", done: "Supervisor has been suspended", failed: "Could not suspend supervisor", body: {}, danger: true, mild: true },
  resume: { label: "Resume", button: "Resume supervisor", done: "Supervisor has been resumed", failed: "Could not resume supervisor", body: {} },
  reset: {
    label: "Hard reset",
    button: "Hard reset supervisor",
    done: "Supervisor has been hard reset",
    failed: "Could not hard reset supervisor",
    body: "",
    danger: true,
    question: "hard reset",
    notes: [
      "Hard resetting a supervisor may lead to data loss or data duplication.",
      "Use this operation to restore functionality when the supervisor stops operating due to missing offsets.",
    ],
    checks: (id) => [`I understand that resetting ${id} will clear checkpoints and may lead to data loss or duplication.`, "I understand that this operation cannot be undone."],
  },
  terminate: { label: "Terminate", button: "Terminate supervisor", done: "Supervisor has been terminated", failed: "Could not terminate supervisor", body: {}, danger: true, notes: ["This action is not reversible."] },
};

let supervisors = []; // [{id, datasource, type, stream, state, detailedState, suspended, spec}]
let reports = {}; // id → the status report (or {failure})
const lastRead = listing(); // when the list was read, and why the last read failed
let detail = null; // {id, pane}
let outcome = null; // {text, failed}: what the last action came to

/** A `SupervisorStatus` of `?full` as the console reads it (supervisors-view.tsx, without SQL). */
function fromStatus(status) {
  const spec = status.spec || {};
  const io = (spec.spec && spec.spec.ioConfig) || spec.ioConfig || {};
  const suspended = Boolean(status.suspended || spec.suspended);
  return {
    id: status.id,
    datasource: status.dataSource,
    type: (spec.spec && spec.spec.tuningConfig && spec.spec.tuningConfig.type) || spec.type || status.type || "",
    stream: io.topic || io.stream || "n/a",
    state: status.state,
    // as the console's SQL does: a suspended supervisor shows SUSPENDED whatever its detailed state
    detailedState: suspended ? "SUSPENDED" : status.detailedState || status.state,
    suspended,
    taskCount: io.taskCount,
    replicas: io.replicas,
  };
}

/** The group id of a supervisor's tasks, and their type: where the console's "Go to tasks" goes. */
export function tasksOf(supervisor) {
  if (supervisor.type === "kafka" || supervisor.type === "kinesis") return { group: `index_${supervisor.type}_${supervisor.id}`, type: `index_${supervisor.type}` };
  return { group: supervisor.id, type: "" };
}

function integer(value) {
  return Number(value).toLocaleString("en");
}

function payloadOf(id) {
  const report = reports[id];
  return report && report.payload ? report.payload : null;
}

function lagText(payload) {
  if (!payload) return "";
  if (typeof payload.aggregateLag === "number") return integer(payload.aggregateLag);
  if (typeof payload.aggregateLagMillis === "number") return `${integer(payload.aggregateLagMillis)} ms`;
  return "";
}

function statusCell(supervisor) {
  const state = supervisor.detailedState;
  const basic = supervisor.state && supervisor.state !== state && !supervisor.suspended ? h("small", { class: "basic-state", title: "state (basic)" }, supervisor.state) : null;
  return h("td", { class: "supervisor-state", title: "detailedState, coloured as Druid's console" }, h("span", { class: "dot", style: `color:${stateColor(state)}` }, "● "), breakable(state), basic);
}

function configuredCell(supervisor) {
  const { taskCount, replicas } = supervisor;
  if (typeof taskCount !== "number" || typeof replicas !== "number") return h("td", {});
  const how = replicas === 1 ? "(no replication)" : `(${plural(taskCount, "task")} × ${plural(replicas, "replica")})`;
  return h("td", { class: "configured" }, h("span", {}, integer(taskCount * replicas)), h("small", { class: "detail-line" }, how));
}

function runningCell(supervisor, context) {
  const payload = payloadOf(supervisor.id);
  const report = reports[supervisor.id];
  if (report && report.failure) return h("td", { class: "failed", title: report.failure }, "status: ", report.failure.split(":")[0]);
  if (supervisor.suspended || !payload || !Array.isArray(payload.activeTasks)) return h("td", {});
  const publishing = Array.isArray(payload.publishingTasks) ? payload.publishingTasks.length : 0;
  const { group, type } = tasksOf(supervisor);
  return h(
    "td",
    {},
    h(
      "a",
      {
        href: "#tasks",
        class: "tasks-link",
        title: `the Tasks view, filtered on group ${group}`,
        onclick: (event) => {
          event.preventDefault();
          event.stopPropagation();
          context.showTasks({ group, type });
        },
      },
      h("span", {}, plural(payload.activeTasks.length, "active task")),
      publishing ? h("span", {}, plural(publishing, "publishing task")) : null,
    ),
  );
}

function errorsCell(supervisor) {
  const payload = payloadOf(supervisor.id);
  const errors = payload && Array.isArray(payload.recentErrors) ? payload.recentErrors : null;
  if (!errors || !errors.length) return h("td", { class: "muted" }, errors ? "none" : "");
  return h("td", { class: "failed", title: errors.map((error) => error.message).join("\n") }, plural(errors.length, "error"));
}

function actionButtons(supervisor, context) {
  const first = supervisor.suspended ? "resume" : "suspend";
  return [first, "reset", "terminate"].map((action) =>
    h(
      "button",
      {
        type: "button",
        class: ACTIONS[action].danger && !ACTIONS[action].mild ? "danger" : null,
        dataset: { action, supervisor: supervisor.id },
        onclick: (event) => {
          event.stopPropagation();
          ask(action, supervisor.id, context);
        },
      },
      ACTIONS[action].label,
    ),
  );
}

function row(supervisor, context) {
  return h(
    "tr",
    {
      class: detail && detail.id === supervisor.id ? "selected" : null,
      dataset: { supervisorId: supervisor.id, state: supervisor.detailedState },
      onclick: () => {
        if (String(window.getSelection())) return;
        supervisorsView.open(supervisor.id, context);
      },
    },
    h("td", { class: "id" }, h("span", { class: "supervisor-id" }, breakable(supervisor.id))),
    h("td", {}, breakable(supervisor.datasource || "")),
    h("td", {}, supervisor.type),
    h("td", {}, breakable(supervisor.stream)),
    statusCell(supervisor),
    configuredCell(supervisor),
    runningCell(supervisor, context),
    h("td", { class: "lag" }, lagText(payloadOf(supervisor.id))),
    errorsCell(supervisor),
    h("td", { class: "actions" }, h("div", { class: "row-actions" }, actionButtons(supervisor, context))),
  );
}

/** What a row shows of a supervisor: it is redrawn only when this changes (the report's clock moves on). */
function shownOf(supervisor) {
  const payload = payloadOf(supervisor.id);
  const report = reports[supervisor.id];
  const count = (list) => (Array.isArray(list) ? list.length : null);
  return [
    supervisor,
    report && report.failure,
    payload && [count(payload.activeTasks), count(payload.publishingTasks), lagText(payload), count(payload.recentErrors)],
  ];
}

let drawn = null;

function render(context, force = false) {
  const user = signIn.user();
  const signature = [JSON.stringify(supervisors.map(shownOf)), lastRead.problem, detail && detail.id, user, signIn.needed(), JSON.stringify(outcome)].join("|");
  if (!force && signature === drawn) return; // unchanged: keep the buttons under the pointer
  drawn = signature;
  $("#supervisors-table tbody").replaceChildren(...supervisors.map((supervisor) => row(supervisor, context)));
  $("#supervisors-signin").hidden = !signIn.needed();
  sayStatus("#supervisors-status", "#supervisors-table", lastRead, plural(supervisors.length, "supervisor"));
  const empty = $("#supervisors-empty");
  empty.hidden = supervisors.length > 0 || signIn.needed() || Boolean(lastRead.problem) || lastRead.at === null;
  setText(
    empty,
    user
      ? `Druid lists no supervisor to ${user}: Druid 35 lists only the supervisors whose datasources the user may WRITE (GET /supervisor, reference 15.2).`
      : "No supervisor: this cluster runs none (a scenario's supervisors: section, or POST /druid/indexer/v1/supervisor, starts one).",
  );
  const line = $("#supervisors-action");
  line.hidden = !outcome;
  setText(line, outcome ? outcome.text : "");
  line.classList.toggle("failed", Boolean(outcome && outcome.failed));
  setText("#supervisors-tab-count", lastRead.at === null ? "" : String(supervisors.length));
  renderDetailHead(context);
}

// -- the panel ---------------------------------------------------------------------------------------------

const PANES = {
  status: { path: (id) => `supervisor/${encodeURIComponent(id)}/status`, note: "GET /supervisor/{id}/status: the supervisor's report" },
  spec: { path: (id) => `supervisor/${encodeURIComponent(id)}`, note: "GET /supervisor/{id}: the spec as the Overlord holds it" },
  stats: { path: (id) => `supervisor/${encodeURIComponent(id)}/stats`, note: "GET /supervisor/{id}/stats: per task group, per task" },
  history: { path: (id) => `supervisor/${encodeURIComponent(id)}/history?count=100`, note: "GET /supervisor/{id}/history?count=100: newest first" },
};

function renderDetailHead(context) {
  if (!detail) return;
  const supervisor = supervisors.find((listed) => listed.id === detail.id);
  const state = $("#supervisor-detail-state");
  if (supervisor) {
    setText(state, `● ${supervisor.detailedState}`);
    state.style.color = stateColor(supervisor.detailedState);
  } else {
    setText(state, "gone");
    state.style.color = "";
  }
  const signature = supervisor ? `${supervisor.id}|${supervisor.suspended}` : "";
  const actions = $("#supervisor-detail-actions");
  if (actions.dataset.drawn !== signature) {
    actions.dataset.drawn = signature;
    actions.replaceChildren(...(supervisor ? actionButtons(supervisor, context) : []));
  }
}

async function refreshDetail() {
  if (!detail) return;
  const { id, pane } = detail;
  const answer = await druid(PANES[pane].path(id));
  if (!detail || detail.id !== id || detail.pane !== pane) return;
  const note = $("#supervisor-detail-note");
  if (answer.ok) {
    setText(note, PANES[pane].note);
    note.classList.remove("failed");
    const text = JSON.stringify(answer.json ?? answer.text, null, 2);
    const body = $("#supervisor-detail-body");
    if (body.textContent !== text) body.textContent = text;
  } else {
    setText(note, describeDruidFailure(answer) + signIn.explainDenial(answer, "reading a supervisor needs READ on its datasource"));
    note.classList.add("failed");
  }
}

function showPane(pane) {
  for (const button of $$("#supervisor-detail-tabs button")) button.classList.toggle("active", button.dataset.pane === pane);
}

// -- actions -------------------------------------------------------------------------------------------------

/** Ask first, as the console does; the dialog's checks (hard reset) must all be ticked before it goes. */
function ask(action, id, context) {
  const what = ACTIONS[action];
  const dialog = $("#supervisor-dialog");
  setText("#supervisor-dialog-title", `${what.label} supervisor?`);
  $("#supervisor-dialog-question").replaceChildren(`Are you sure you want to ${what.question || action} supervisor `, h("code", {}, id), "?");
  $("#supervisor-dialog-notes").replaceChildren(...(what.notes || []).map((note) => h("p", {}, note)));
  const checks = what.checks ? what.checks(id) : [];
  $("#supervisor-dialog-checks").replaceChildren(
    ...checks.map((text) => h("label", { class: "check" }, h("input", { type: "checkbox", onchange: () => armConfirm() }), text)),
  );
  const confirm = $("#supervisor-confirm");
  setText(confirm, what.button);
  confirm.className = what.danger ? "danger" : "primary";
  dialog.dataset.action = action;
  dialog.dataset.supervisor = id;
  armConfirm();
  dialog.showModal();
  dialog.onclose = () => {
    if (dialog.returnValue === "confirm") act(action, id, context);
    dialog.returnValue = "";
  };
}

function armConfirm() {
  $("#supervisor-confirm").disabled = $$("#supervisor-dialog-checks input").some((box) => !box.checked);
}

async function act(action, id, context) {
  const what = ACTIONS[action];
  outcome = { text: `${what.label}: asking the Overlord…`, failed: false };
  render(context, true);
  try {
    const answer = await druid(`supervisor/${encodeURIComponent(id)}/${action}`, { method: "POST", body: what.body, client: PRESENTER });
    if (answer.ok) outcome = { text: `${what.done}: ${id} (POST /supervisor/{id}/${action} answered ${answer.status})`, failed: false };
    else {
      const datasource = (supervisors.find((listed) => listed.id === id) || {}).datasource;
      const needed = `acting on a supervisor needs WRITE on its datasource${datasource ? ` ${datasource}` : ""}`;
      outcome = { text: `${what.failed} ${id}: ${describeDruidFailure(answer)}${signIn.explainDenial(answer, needed)}`, failed: true };
    }
  } catch (error) {
    outcome = { text: `${what.failed} ${id}: ${error.message}`, failed: true };
  }
  render(context, true);
  context.refreshNow();
}

// -- the view ------------------------------------------------------------------------------------------------

function forgetList() {
  supervisors = [];
  reports = {};
  Object.assign(lastRead, listing());
}

export const supervisorsView = {
  setUp(context) {
    $("#supervisor-detail-close").addEventListener("click", () => supervisorsView.close(context));
    $("#supervisor-dialog-cancel").addEventListener("click", () => $("#supervisor-dialog").close("cancel"));
    for (const button of $$("#supervisor-detail-tabs button")) {
      button.addEventListener("click", () => {
        if (!detail) return;
        detail.pane = button.dataset.pane;
        showPane(detail.pane);
        setText("#supervisor-detail-note", "");
        $("#supervisor-detail-body").textContent = "";
        refreshDetail().catch((error) => setText("#supervisor-detail-note", error.message));
      });
    }
  },

  shown(context) {
    render(context, true);
  },

  async refresh(context) {
    if (signIn.needed()) {
      if (supervisors.length || lastRead.problem) forgetList();
      render(context);
      return;
    }
    const kept = await readAsUser(lastRead, context, () => druid("supervisor?full"), async (json) => {
      const listed = json.map(fromStatus);
      // each supervisor's report, as the console asks for it (GET /supervisor/{id}/status), together
      const answers = await Promise.all(listed.map((supervisor) => druid(`supervisor/${encodeURIComponent(supervisor.id)}/status`).catch((error) => error)));
      reports = {};
      listed.forEach((supervisor, i) => {
        const got = answers[i];
        if (got instanceof Error) reports[supervisor.id] = { failure: got.message };
        else reports[supervisor.id] = got.ok && got.json ? got.json : { failure: describeDruidFailure(got) };
        const payload = reports[supervisor.id].payload;
        // the report is newer than the list when an action landed between the two: it wins
        if (payload && payload.detailedState) {
          supervisor.state = payload.state;
          supervisor.suspended = Boolean(payload.suspended);
          supervisor.detailedState = supervisor.suspended ? "SUSPENDED" : payload.detailedState;
        }
      });
      supervisors = listed;
    });
    if (!kept) return; // signed in as another user meanwhile: a stale answer
    render(context);
    try {
      await refreshDetail();
    } catch (error) {
      setText("#supervisor-detail-note", error.message);
    }
  },

  open(id, context) {
    detail = { id, pane: detail ? detail.pane : "status" };
    $("#supervisor-detail").hidden = false;
    $(".supervisors-area").classList.add("with-detail");
    setText("#supervisor-detail-id", id);
    $("#supervisor-detail-actions").dataset.drawn = "";
    showPane(detail.pane);
    setText("#supervisor-detail-note", "");
    $("#supervisor-detail-body").textContent = "";
    render(context, true);
    refreshDetail().catch((error) => setText("#supervisor-detail-note", error.message));
  },

  close(context) {
    detail = null;
    $("#supervisor-detail").hidden = true;
    $(".supervisors-area").classList.remove("with-detail");
    render(context, true);
  },

  /** The page signed in as another user (or out): what the last one could see is no longer shown. */
  userChanged(context) {
    forgetList();
    outcome = null;
    render(context, true);
  },

  forget(context) {
    forgetList();
    outcome = null;
    supervisorsView.close(context);
  },
};
