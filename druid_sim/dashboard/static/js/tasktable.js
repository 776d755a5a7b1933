// The Tasks table: rows in the order Druid's web console gives them (active first: RUNNING, then PENDING,
// then WAITING, then complete tasks; newest first within each), sorted by any header on click, and grouped
// by type, datasource or status as the console's "Group by" does. Pure rendering: tasks.js fetches.
//
// The table fits the page (no sideways scrolling at 1280 px): a fixed layout, ids wrapped where Druid puts
// underscores (shown whole, so they can be selected and copied whole), the group id under the task id only
// when it differs, and the runner status only where it says something (inside an active task's status).

import { $, displayState, duration, h, pill, plural } from "./dom.js";

/** The console's rank (web-console tasks-view: RUNNING 4, PENDING 3, WAITING 2, complete 1). */
const RANK = { RUNNING: 4, PENDING: 3, WAITING: 2 };
export const ACTIVE = ["WAITING", "PENDING", "RUNNING"];

export function rank(task) {
  return RANK[displayState(task)] || 1;
}

/** How long a task has taken: Druid's duration once complete, the time since it was created while active. */
export function elapsed(task, now) {
  if (task.statusCode !== "RUNNING") return task.duration >= 0 ? task.duration : -1;
  return now ? now - Date.parse(task.createdTime) : 0;
}

function location(task) {
  return task.location && task.location.host ? `${task.location.host}:${task.location.port}` : "";
}

/** The columns, each with what it sorts by (a string or a number; ties fall back to the console's order). */
export const COLUMNS = [
  { key: "id", label: "Task ID", value: (task) => task.id },
  { key: "type", label: "Type", value: (task) => task.type || "" },
  { key: "datasource", label: "Datasource", value: (task) => task.dataSource || "" },
  { key: "status", label: "Status", value: (task) => rank(task) },
  { key: "created", label: "Created time", value: (task) => task.createdTime || "" },
  { key: "duration", label: "Duration", value: (task, now) => elapsed(task, now) },
  { key: "location", label: "Location", value: (task) => location(task) },
];

/** The console's own order: rank (active first), then newest first. */
function consoleOrder(a, b) {
  return rank(b) - rank(a) || (b.createdTime || "").localeCompare(a.createdTime || "");
}

/** `tasks` sorted by `sort` ({key, descending}); no key: the console's order. */
export function sortTasks(tasks, sort, now) {
  const column = COLUMNS.find((candidate) => candidate.key === sort.key);
  if (!column) return tasks.slice().sort(consoleOrder);
  const sign = sort.descending ? -1 : 1;
  const keyed = tasks.map((task) => [column.value(task, now), task]);
  keyed.sort(([a, taskA], [b, taskB]) => {
    const compared = typeof a === "number" ? a - b : String(a).localeCompare(String(b));
    return sign * compared || consoleOrder(taskA, taskB);
  });
  return keyed.map(([, task]) => task);
}

/** What a task is grouped under for "Group by" (type, datasource, status), or null for no grouping. */
export function groupOf(task, by) {
  if (by === "type") return task.type || "(none)";
  if (by === "datasource") return task.dataSource || "(none)";
  if (by === "status") return displayState(task);
  return null;
}

/** Text broken where a reader would break it: after `_`, `-`, `.`, `:` (ids, hosts), never inside a word. */
export function breakable(text, after = /(?<=[_.:-])/) {
  const parts = String(text).split(after);
  const nodes = [];
  parts.forEach((part, i) => {
    if (i) nodes.push(h("wbr"));
    nodes.push(part);
  });
  return nodes;
}

function statusCell(task) {
  const state = displayState(task);
  // the runner's status only when it adds something: an active task's statusCode and runner status differ
  const runner =
    ACTIVE.includes(state) && task.statusCode !== state
      ? h("small", { class: "runner", title: "statusCode / runnerStatusCode, as GET /tasks answers" }, `${task.statusCode} / ${task.runnerStatusCode}`)
      : null;
  return h(
    "td",
    { class: "status-cell" },
    pill(state),
    task.errorMsg ? h("span", { class: "error-hint", title: task.errorMsg }, "!") : null,
    runner,
  );
}

function createdCell(task) {
  const [day, time] = (task.createdTime || "").replace(/\.\d+Z$|Z$/, "").split("T");
  return h("td", { class: "created", title: task.createdTime || "" }, h("span", {}, day || ""), " ", h("span", {}, time || ""));
}

function durationCell(task, now) {
  const took = elapsed(task, now);
  if (task.statusCode === "RUNNING") {
    return h("td", { class: "muted", title: `${displayState(task).toLowerCase()}: time since it was created` }, duration(took));
  }
  return h("td", {}, took >= 0 ? duration(took) : h("span", { class: "muted", title: "shut down: Druid reports -1" }, "—"));
}

function row(task, { now, selected, onOpen }) {
  const group = task.groupId && task.groupId !== task.id ? h("small", { class: "group", title: "group id" }, "group ", breakable(task.groupId)) : null;
  return h(
    "tr",
    {
      class: selected ? "selected" : null,
      dataset: { taskId: task.id, state: displayState(task) },
      onclick: () => {
        if (String(window.getSelection())) return; // the presenter is selecting text (an id to copy), not opening
        onOpen(task.id);
      },
    },
    h("td", { class: "id" }, h("span", { class: "task-id", title: task.id }, breakable(task.id)), group),
    h("td", {}, breakable(task.type || "")),
    h("td", {}, breakable(task.dataSource || "")),
    statusCell(task),
    createdCell(task),
    durationCell(task, now),
    h("td", { class: "muted location" }, breakable(location(task), /(?<=\.)/)),
  );
}

function stateCounts(tasks) {
  const counts = {};
  for (const task of tasks) counts[displayState(task)] = (counts[displayState(task)] || 0) + 1;
  return Object.entries(counts)
    .sort(([a], [b]) => (RANK[b] || 1) - (RANK[a] || 1) || a.localeCompare(b))
    .map(([state, count]) => `${count} ${state.toLowerCase()}`)
    .join(", ");
}

/**
 * The table's body rows for `tasks` (already filtered), sorted and grouped; at most `most` task rows.
 * Group header rows toggle their group's rows (`collapsed`, a Set of group names, is kept by the caller).
 */
export function tableRows(tasks, { sort, groupBy, now, selectedId, collapsed, most, onOpen, onToggle }) {
  const sorted = sortTasks(tasks, sort, now).slice(0, most);
  const options = (task) => ({ now, selected: task.id === selectedId, onOpen });
  if (!groupBy) return sorted.map((task) => row(task, options(task)));
  const groups = new Map();
  for (const task of sorted) {
    const name = groupOf(task, groupBy);
    if (!groups.has(name)) groups.set(name, []);
    groups.get(name).push(task);
  }
  const rows = [];
  for (const [name, members] of groups) {
    const shut = collapsed.has(name);
    rows.push(
      h(
        "tr",
        { class: "group-row", dataset: { group: name }, onclick: () => onToggle(name) },
        h(
          "td",
          { colspan: String(COLUMNS.length) },
          h("span", { class: "caret" }, shut ? "▸" : "▾"),
          " ",
          h("b", {}, name),
          h("span", { class: "muted" }, ` · ${plural(members.length, "task")}: ${stateCounts(members)}`),
        ),
      ),
    );
    if (!shut) rows.push(...members.map((task) => row(task, options(task))));
  }
  return rows;
}

/** The header: each column sorts on click (again: the other way); the sorted one shows its arrow. */
export function renderHeader(sort, onSort) {
  const focused = document.activeElement && document.activeElement.closest("#tasks-table th") ? document.activeElement.dataset.sort : null;
  const cells = COLUMNS.map((column) => {
    const sorted = sort.key === column.key;
    const arrow = sorted ? (sort.descending ? " ▼" : " ▲") : "";
    return h(
      "th",
      {
        class: `col-${column.key}${sorted ? " sorted" : ""}`,
        dataset: { sort: column.key },
        "aria-sort": sorted ? (sort.descending ? "descending" : "ascending") : null,
        title: `sort by ${column.label.toLowerCase()} (click again for the other way)`,
        tabindex: "0",
        onclick: () => onSort(column.key),
        onkeydown: (event) => {
          if (event.key !== "Enter" && event.key !== " ") return;
          event.preventDefault();
          onSort(column.key);
        },
      },
      column.label,
      arrow,
    );
  });
  $("#tasks-table thead").replaceChildren(h("tr", {}, ...cells));
  if (focused) $(`#tasks-table th[data-sort="${focused}"]`).focus(); // a keyboard user keeps their place
}
