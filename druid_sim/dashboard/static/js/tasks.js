// The Tasks view, after Druid's web console: every task from GET /druid/indexer/v1/tasks, filtered here
// by state, datasource, type and id; a task opens a panel with its status, payload, growing log and
// reports, read from the same endpoints the console uses (reference 9.2). On a secured cluster it is what
// the signed-in user may read (Druid drops the tasks of other datasources from the list), and nothing
// before the presenter signs in.

import { PRESENTER, describeDruidFailure, druid, taskPath } from "./api.js";
import { $, $$, displayState, h, pill, plural, setText } from "./dom.js";
import { listing, readAsUser, sayStatus } from "./listing.js";
import { signIn } from "./signin.js";
import { COLUMNS, renderHeader, tableRows } from "./tasktable.js";
import { logPane } from "./logpane.js";

const MAX_ROWS = 500;

let tasks = [];
const lastRead = listing(); // when the list was read (virtual time), and why the last read failed
let detail = null; // {id, pane, state, text}

let group = null; // the group id a supervisor's "tasks" link filters on (a chip in the toolbar removes it)

function filters() {
  return {
    group,
    state: $("#filter-state").value,
    datasource: $("#filter-datasource").value,
    type: $("#filter-type").value,
    id: $("#filter-id").value.trim().toLowerCase(),
  };
}

function fillSelect(select, values) {
  const current = select.value;
  const wanted = ["", ...[...new Set(values)].sort()];
  const have = [...select.options].map((option) => option.value);
  if (have.length === wanted.length && have.every((value, i) => value === wanted[i])) return;
  select.replaceChildren(...wanted.map((value) => h("option", { value }, value || "all")));
  select.value = wanted.includes(current) ? current : "";
}

let drawn = null;
let listedText = "";
let sort = { key: null, descending: true }; // no key: the console's order (active first, newest first)
const collapsed = new Set(); // groups the presenter folded
let headerFor = null; // the sort the header was drawn for

/** How the rows are ordered, in words, for the status line. */
function sortedHow() {
  if (!sort.key) return "active first (running, pending, waiting), then newest first, as Druid's console";
  const label = COLUMNS.find((column) => column.key === sort.key).label.toLowerCase();
  return `by ${label}, ${sort.descending ? "descending" : "ascending"}`;
}

/** A header was clicked: sort by it (again: the other way; times, durations and states start newest/active first). */
function sortBy(key, context) {
  if (sort.key === key) sort = { key, descending: !sort.descending };
  else sort = { key, descending: ["status", "created", "duration"].includes(key) };
  render(context, true);
}

function render(context, force = false) {
  const wanted = filters();
  const now = context.virtualNow();
  const user = signIn.user();
  const groupBy = $("#group-by").value;
  const signature = [listedText, JSON.stringify(wanted), JSON.stringify(sort), groupBy, [...collapsed].join(), Math.floor((now || 0) / 1000), lastRead.problem, detail && detail.id, user, signIn.needed()].join("|");
  if (!force && signature === drawn) return; // nothing to redraw: keep the rows under the pointer
  drawn = signature;
  const sortedAs = JSON.stringify(sort);
  if (sortedAs !== headerFor) {
    headerFor = sortedAs;
    renderHeader(sort, (key) => sortBy(key, context));
  }
  const shown = tasks.filter(
    (task) =>
      (!wanted.group || task.groupId === wanted.group) &&
      (!wanted.state || displayState(task) === wanted.state) &&
      (!wanted.datasource || task.dataSource === wanted.datasource) &&
      (!wanted.type || task.type === wanted.type) &&
      (!wanted.id || task.id.toLowerCase().includes(wanted.id)),
  );
  const rows = tableRows(shown, {
    sort,
    groupBy,
    now,
    selectedId: detail && detail.id,
    collapsed,
    most: MAX_ROWS,
    onOpen: (id) => tasksView.open(id, context),
    onToggle: (name) => {
      if (collapsed.has(name)) collapsed.delete(name);
      else collapsed.add(name);
      render(context);
    },
  });
  $("#tasks-table tbody").replaceChildren(...rows);
  const counted = `${shown.length === tasks.length ? plural(tasks.length, "task") : `${shown.length} of ${plural(tasks.length, "task")}`} · ${sortedHow()}`;
  const capped = shown.length > MAX_ROWS ? ` (the first ${MAX_ROWS} shown: filter to see others)` : "";
  // the line says "may read" (Druid drops the tasks of datasources the user may not READ) and how many show
  sayStatus("#tasks-status", "#tasks-table", lastRead, `${counted}${lastRead.problem ? "" : capped}`, "read");
  setText("#tasks-tab-count", String(tasks.length));
}

// -- the task panel --------------------------------------------------------------------------------------

function showPane(pane) {
  for (const button of $$("#detail-tabs button")) button.classList.toggle("active", button.dataset.pane === pane);
  if (pane !== "log") logPane.hide();
}

/** A failed read of the open task, with what Druid checks when it is a secured cluster's 403. */
function readFailure(answer) {
  return describeDruidFailure(answer) + signIn.explainDenial(answer, "reading a task needs READ on its datasource");
}

function pretty(value) {
  return JSON.stringify(value, null, 2);
}

function setBody(text, { follow = false } = {}) {
  const body = $("#detail-body");
  if (body.textContent === text) return;
  body.textContent = text;
  if (follow) body.scrollTop = body.scrollHeight; // following the log: stay at its end (Pause keeps it still)
}

async function paneContent(id, pane, state) {
  if (pane === "payload") {
    const answer = await druid(taskPath(id));
    return answer.ok ? { text: pretty(answer.json.payload), note: "GET /task/{id}: the spec as the Overlord holds it" } : { note: readFailure(answer) };
  }
  if (pane === "log") return logPane.content(id, state, readFailure);
  if (pane === "reports") {
    const answer = await druid(taskPath(id, "/reports"));
    if (answer.status === 404) return { text: "", note: "No reports yet: Druid has none until the task runs (404)." };
    if (!answer.ok) return { note: readFailure(answer) };
    const kind = state === "RUNNING" ? "live report (moving while the task runs)" : "completion report";
    return { text: pretty(answer.json ?? answer.text), note: `GET /task/{id}/reports: ${kind}` };
  }
  return null;
}

async function refreshDetail() {
  if (!detail) return;
  const { id, pane } = detail;
  const status = await druid(taskPath(id, "/status"));
  if (!detail || detail.id !== id) return;
  if (status.ok && status.json && status.json.status) {
    detail.state = displayState(status.json.status);
    const badge = $("#detail-state");
    badge.className = pill(detail.state).className;
    setText(badge, detail.state);
    $("#detail-shutdown").disabled = !["WAITING", "PENDING", "RUNNING"].includes(detail.state);
  }
  let shown;
  if (pane === "status") {
    shown = status.ok ? { text: pretty(status.json), note: "GET /task/{id}/status" } : { note: readFailure(status) };
  } else {
    shown = await paneContent(id, pane, detail.state);
  }
  if (!detail || detail.id !== id || detail.pane !== pane || !shown) return;
  const note = $("#detail-note");
  setText(note, shown.note || "");
  note.classList.toggle("failed", shown.text === undefined && !shown.paused);
  if (shown.text !== undefined) setBody(shown.text, { follow: shown.follow });
}

/** What a presenter's action came to, under the panel's head until the panel closes or shows another task. */
function sayAction(message, failed) {
  const line = $("#detail-action");
  line.hidden = !message;
  setText(line, message || "");
  line.classList.toggle("failed", Boolean(failed));
}

/** The datasource a task spec writes to, where it usually sits (Druid works it out per task type). */
function datasourceOf(spec) {
  try {
    const task = JSON.parse(spec);
    const inner = task.spec && (task.spec.ingestionSpec || task.spec);
    return (inner && inner.dataSchema && inner.dataSchema.dataSource) || task.dataSource || null;
  } catch {
    return null;
  }
}

async function shutdown(context) {
  if (!detail) return;
  const { id } = detail;
  const datasource = (tasks.find((task) => task.id === id) || {}).dataSource;
  sayAction("shutting down…", false);
  try {
    const answer = await druid(taskPath(id, "/shutdown"), { method: "POST", body: {}, client: PRESENTER });
    if (!detail || detail.id !== id) return;
    if (answer.ok) sayAction(`Shut down: POST /task/{id}/shutdown answered ${answer.status}`, false);
    else {
      const needed = `shutting a task down needs WRITE on its datasource${datasource ? ` ${datasource}` : ""}`;
      sayAction(describeDruidFailure(answer) + signIn.explainDenial(answer, needed), true);
    }
  } catch (error) {
    sayAction(error.message, true);
  }
  context.refreshNow();
}

// -- submitting --------------------------------------------------------------------------------------------

async function submit(event, context) {
  event.preventDefault();
  const result = $("#submit-result");
  const spec = $("#submit-spec").value;
  setText(result, "submitting…");
  result.classList.remove("failed");
  try {
    const answer = await druid("task", { method: "POST", body: spec, client: PRESENTER });
    if (answer.ok && answer.json && answer.json.task) {
      setText(result, `Submitted ${answer.json.task}`);
      tasksView.open(answer.json.task, context);
    } else {
      const datasource = datasourceOf(spec);
      const needed = `submitting a task needs WRITE on its datasource${datasource ? ` ${datasource}` : ""}`;
      setText(result, describeDruidFailure(answer) + signIn.explainDenial(answer, needed));
      result.classList.add("failed");
    }
  } catch (error) {
    setText(result, error.message);
    result.classList.add("failed");
  }
  context.refreshNow();
}

export const tasksView = {
  setUp(context) {
    for (const id of ["#filter-state", "#filter-datasource", "#filter-type", "#group-by"]) $(id).addEventListener("change", () => render(context));
    $("#sort-reset").addEventListener("click", () => {
      sort = { key: null, descending: true };
      render(context, true);
    });
    $("#filter-id").addEventListener("input", () => render(context));
    $("#filter-group-clear").addEventListener("click", () => tasksView.filterTo({}, context));
    $("#submit-toggle").addEventListener("click", () => {
      $("#submit-form").hidden = !$("#submit-form").hidden;
    });
    $("#submit-form").addEventListener("submit", (event) => submit(event, context));
    $("#detail-close").addEventListener("click", () => tasksView.close(context));
    $("#detail-shutdown").addEventListener("click", () => {
      if (!detail) return;
      // as Druid's console does: a shut down is asked for, never done on one click
      setText("#shutdown-id", detail.id);
      $("#shutdown-dialog").dataset.taskId = detail.id;
      $("#shutdown-dialog").showModal();
    });
    $("#shutdown-dialog").addEventListener("close", () => {
      const dialog = $("#shutdown-dialog");
      if (dialog.returnValue === "shutdown" && detail && detail.id === dialog.dataset.taskId) shutdown(context);
      dialog.returnValue = "";
    });
    $("#detail-copy").addEventListener("click", async () => {
      if (!detail) return;
      try {
        await navigator.clipboard.writeText(detail.id);
        sayAction(`Copied ${detail.id}`, false);
      } catch (error) {
        // no clipboard (a page not served from localhost or https): select the id for Ctrl-C instead
        getSelection().selectAllChildren($("#detail-id"));
        sayAction("The browser gave no clipboard: the id is selected, Ctrl-C copies it.", false);
      }
    });
    $("#detail-wide").addEventListener("click", () => {
      const wide = !$(".tasks-area").classList.contains("wide");
      $(".tasks-area").classList.toggle("wide", wide);
      $("#detail-wide").setAttribute("aria-pressed", String(wide));
      $("#detail-wide").classList.toggle("active", wide);
    });
    logPane.setUp(() => detail && detail.id, readFailure);
    for (const button of $$("#detail-tabs button")) {
      button.addEventListener("click", () => {
        if (!detail) return;
        detail.pane = button.dataset.pane;
        showPane(detail.pane);
        setText("#detail-note", "");
        setBody("");
        refreshDetail();
      });
    }
  },

  /** Show only the tasks of a group (`{group}`: a supervisor's tasks), as the console's "Go to tasks" does. */
  filterTo(filter, context) {
    group = filter.group || null;
    const chip = $("#filter-group");
    chip.hidden = !group;
    setText("#filter-group-name", group || "");
    render(context, true);
  },

  async refresh(context) {
    if (signIn.needed()) {
      // a secured cluster and no user: every Druid call would be a 401, so none is made
      if (tasks.length || lastRead.problem) tasksView.userChanged(context);
      render(context);
      return;
    }
    const kept = await readAsUser(lastRead, context, () => druid("tasks"), (json, answer) => {
      tasks = json;
      listedText = answer.text;
      fillSelect($("#filter-datasource"), tasks.map((task) => task.dataSource));
      fillSelect($("#filter-type"), tasks.map((task) => task.type));
    });
    if (!kept) return; // signed in as another user (or out) meanwhile: a stale answer
    render(context);
    try {
      await refreshDetail();
    } catch (error) {
      setText("#detail-note", error.message);
    }
  },

  open(id, context) {
    if (!detail || detail.id !== id) {
      sayAction(null);
      logPane.hide();
    }
    detail = { id, pane: detail ? detail.pane : "status", state: null };
    $("#task-detail").hidden = false;
    $(".tasks-area").classList.add("with-detail");
    setText("#detail-id", id);
    showPane(detail.pane);
    setText("#detail-note", "");
    setBody("");
    render(context);
    refreshDetail().catch((error) => setText("#detail-note", error.message));
  },

  close(context) {
    detail = null;
    sayAction(null);
    $("#task-detail").hidden = true;
    $(".tasks-area").classList.remove("with-detail", "wide");
    $("#detail-wide").classList.remove("active");
    logPane.hide();
    render(context);
  },

  /** The page signed in as another user (or out): what the last one could read is no longer shown. */
  userChanged(context) {
    tasks = [];
    listedText = "";
    Object.assign(lastRead, listing());
    fillSelect($("#filter-datasource"), []);
    fillSelect($("#filter-type"), []);
    if (detail) {
      setText("#detail-note", "");
      setBody("");
    }
    render(context, true);
  },

  forget(context) {
    setText("#submit-result", ""); // an answer about the cluster that was (a 429 from queue-full) is not about this one
    $("#submit-result").classList.remove("failed");
    tasks = [];
    listedText = "";
    Object.assign(lastRead, listing());
    tasksView.filterTo({}, context); // a group of the cluster that was
    tasksView.close(context);
  },
};
