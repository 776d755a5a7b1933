// The Cluster view: worker slots and their use, the queue, who leads (and every change seen), and tasks by
// state over virtual time, all from GET /__sim/cluster (read without counting as a Druid request).

import { drawLines } from "./chart.js";
import { $, h, pill, plural, setText, timeOfDay } from "./dom.js";

export const SERIES = [
  { key: "waiting", label: "waiting", color: "#8a94a6" },
  { key: "pending", label: "pending", color: "#d99a1e" },
  { key: "running", label: "running", color: "#2f7fd1" },
  { key: "success", label: "success", color: "#2e9e5b" },
  { key: "failed", label: "failed", color: "#d0453c" },
];

function leaderText(leader) {
  if (leader.state === "leading") return "this server leads";
  if (leader.state === "none") return "no leader: clients get 503";
  return `redirecting (307) to ${leader.url}`;
}

let drawn = null;

function render(context) {
  const { cluster, samples, leaders } = context.state;
  if (!cluster) return;
  const signature = JSON.stringify(cluster) + samples.length + leaders.length;
  if (signature === drawn) return; // unchanged: keep the task links under the pointer
  drawn = signature;
  const tasks = cluster.tasks;
  $("#cluster-states").replaceChildren(
    ...SERIES.map((line) => h("div", { class: "state-count" }, pill(line.key.toUpperCase()), h("b", {}, String(tasks[line.key])))),
  );
  setText("#queue-length", String(cluster.queue.length));
  const limit = cluster.queue.maxSize === null ? "no limit (queue_max_size unset)" : `limit ${cluster.queue.maxSize} active`;
  setText("#queue-detail", `${tasks.waiting} waiting · ${tasks.pending} pending for a slot · ${cluster.queue.active} active, ${limit}`);
  const workers = cluster.workers;
  const capacity = workers.capacity;
  setText("#workers-used", capacity === null ? `${workers.used}` : `${workers.used} / ${capacity}`);
  $("#workers-bar").style.width = capacity ? `${Math.min(100, (workers.used / capacity) * 100)}%` : "0";
  setText("#workers-detail", `${plural(workers.middleManagers.length, "MiddleManager")}, ${capacity === null ? "unlimited slots" : plural(capacity, "slot")}`);
  const leader = cluster.leader;
  const state = $("#leader-state");
  setText(state, leaderText(leader));
  state.className = `leader-state leader-${leader.state}`;
  setText("#leader-detail", leader.fault ? `because of fault ${leader.fault}${leader.intermittent ? " (on some requests only)" : ""}` : cluster.selfUrl);
  $("#leader-history").replaceChildren(
    ...[...leaders].reverse().map((change) =>
      h("li", { class: `leader-${change.state}` }, h("time", {}, timeOfDay(new Date(change.t).toISOString())), " ", leaderText(change), change.fault ? h("small", {}, ` (${change.fault})`) : null),
    ),
  );
  drawLines($("#state-chart"), samples, SERIES);
  const rows = workers.middleManagers.map((manager) => {
    const share = manager.capacity ? Math.min(100, (manager.used / manager.capacity) * 100) : 0;
    return h(
      "tr",
      {},
      h("td", {}, manager.host),
      h("td", { class: "nowrap" }, manager.capacity === null ? `${manager.used}` : `${manager.used} / ${manager.capacity}`),
      h("td", { class: "bar-cell" }, h("div", { class: "bar" }, h("span", { style: `width:${share}%` }))),
      h(
        "td",
        { class: "running-list" },
        ...manager.runningTasks.map((id) => h("a", { href: "#tasks", class: "task-link", title: id, onclick: (event) => { event.preventDefault(); context.openTask(id); } }, id)),
      ),
    );
  });
  $("#workers-table tbody").replaceChildren(...rows);
}

export const clusterView = {
  setUp() {},
  shown(context) {
    render(context);
  },
  async refresh(context) {
    render(context);
  },
};
