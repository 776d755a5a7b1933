// The Services view: the MiddleManagers, as Druid's web console shows them in its Services view, from
// GET /druid/indexer/v1/workers (one ImmutableWorkerInfo each, reference 13.1) and the cluster's totals from
// GET /totalWorkerCapacity (13.2), read each round while the view shows. Each worker: its host, category,
// version, slots (capacity, used, by task type), its running tasks (each opens the task's panel), whether
// it takes tasks (a worker whose version is "" is disabled, as the console says; one blacklisted until a
// time says so) and when it last completed a task.
//
// On a secured cluster it is what Druid answers the signed-in user: /workers needs STATE READ and names
// every running task; the ones the user may not READ (not in its GET /runningTasks) are shown as Druid
// names them, but not as links (their panel would be Druid's 403). /totalWorkerCapacity needs CONFIG READ.

import { describeDruidFailure, druid } from "./api.js";
import { $, h, plural, setText, shortTime } from "./dom.js";
import { listing, readAsUser, sayStatus } from "./listing.js";
import { signIn } from "./signin.js";
import { breakable } from "./tasktable.js";

let workers = [];
let totals = null; // the /totalWorkerCapacity answer, or {failure}
let readable = null; // Set of the running task ids the user may read (from /runningTasks), or null when unknown
const lastRead = listing(); // when the workers were read, and why the last read failed

/** Whether the worker takes tasks, in the console's words (services-view.tsx: "Disabled" for version ""). */
export function availability(info, now) {
  if (info.worker && info.worker.version === "") return { text: "Disabled", kind: "disabled", title: 'its version is "" (disabled with POST /worker/{host}/disable)' };
  if (info.blacklistedUntil && (!now || Date.parse(info.blacklistedUntil) > now)) {
    return { text: `Blacklisted until ${shortTime(info.blacklistedUntil)}`, kind: "blacklisted", title: "too many failed tasks in a row: no task is assigned to it until then" };
  }
  const free = info.worker.capacity - info.currCapacityUsed;
  return free > 0 ? { text: `Available: ${plural(free, "free slot")}`, kind: "available" } : { text: "Full: every slot in use", kind: "full" };
}

function usageCell(info) {
  const { capacity } = info.worker;
  const used = info.currCapacityUsed;
  const share = capacity ? Math.min(100, (used / capacity) * 100) : 0;
  const byType = Object.entries(info.currCapacityUsedByTaskType || {})
    .map(([type, count]) => `${type} ${count}`)
    .join(", ");
  return h(
    "td",
    { class: "usage" },
    h("span", { class: "slots" }, `${used} / ${capacity}`),
    h("div", { class: "bar" }, h("span", { style: `width:${share}%` })),
    byType ? h("small", { class: "detail-line", title: "currCapacityUsedByTaskType" }, byType) : null,
  );
}

function runningCell(info, context) {
  const ids = info.runningTasks || [];
  if (!ids.length) return h("td", { class: "muted" }, "none");
  return h(
    "td",
    { class: "running-list" },
    ...ids.map((id) => {
      if (readable && !readable.has(id)) {
        const user = signIn.user();
        return h("span", { class: "task-id unreadable", title: `Druid's /workers names it; ${user || "this user"} may not READ its datasource, so its panel would be Druid's 403` }, breakable(id));
      }
      return h(
        "a",
        {
          href: "#tasks",
          class: "task-id",
          dataset: { taskId: id },
          title: "open the task",
          onclick: (event) => {
            event.preventDefault();
            context.openTask(id);
          },
        },
        breakable(id),
      );
    }),
  );
}

function row(info, context, now) {
  const worker = info.worker;
  const available = availability(info, now);
  return h(
    "tr",
    { dataset: { host: worker.host, availability: available.kind } },
    h("td", { class: "host" }, h("span", {}, breakable(worker.host, /(?<=[.:-])/)), h("small", { class: "detail-line" }, `${worker.scheme}://${worker.ip}`)),
    h("td", {}, breakable(worker.category || "")),
    h("td", { class: available.kind === "disabled" ? "failed" : null }, worker.version === "" ? '""' : worker.version),
    usageCell(info),
    runningCell(info, context),
    h("td", { class: `availability availability-${available.kind}`, title: available.title || null }, available.text),
    h("td", { class: "last-completed", title: info.lastCompletedTaskTime || "" }, info.lastCompletedTaskTime ? shortTime(info.lastCompletedTaskTime) : h("span", { class: "muted" }, "none yet")),
  );
}

function totalsText() {
  if (!totals) return "";
  if (totals.failure) return ` · totalWorkerCapacity: ${totals.failure}`;
  const most = totals.maximumCapacityWithAutoScale;
  const scale = most === -1 ? "no autoscaler" : `up to ${most} with autoscaling`;
  return ` · cluster: ${totals.usedClusterCapacity} of ${plural(totals.currentClusterCapacity, "slot")} used (${scale})`;
}

let drawn = null;

function render(context, force = false) {
  const now = context.virtualNow();
  const signature = [JSON.stringify(workers), JSON.stringify(totals), readable && [...readable].join(), lastRead.problem, signIn.user(), signIn.needed(), Math.floor((now || 0) / 60000)].join("|");
  if (!force && signature === drawn) return; // unchanged: keep the links under the pointer
  drawn = signature;
  $("#services-table tbody").replaceChildren(...workers.map((info) => row(info, context, now)));
  sayStatus("#services-status", "#services-table", lastRead, `${plural(workers.length, "MiddleManager")}${totalsText()}`);
  setText("#services-tab-count", lastRead.at === null ? "" : String(workers.length));
}

function forgetList() {
  workers = [];
  totals = null;
  readable = null;
  Object.assign(lastRead, listing());
}

export const servicesView = {
  setUp() {},

  shown(context) {
    render(context, true);
  },

  async refresh(context) {
    if (signIn.needed()) {
      if (workers.length || lastRead.problem) forgetList();
      render(context);
      return;
    }
    const secured = signIn.user() !== null;
    const kept = await readAsUser(lastRead, context, () => druid("workers"), async (json) => {
      // the cluster's totals, and on a secured cluster which running tasks the user may read (/runningTasks lists only those)
      const [capacity, running] = await Promise.all([druid("totalWorkerCapacity"), secured ? druid("runningTasks") : null]);
      workers = json;
      totals = capacity.ok && capacity.json ? capacity.json : { failure: describeDruidFailure(capacity) + signIn.explainDenial(capacity, "it needs CONFIG READ") };
      readable = running && running.ok && Array.isArray(running.json) ? new Set(running.json.map((task) => task.id)) : null;
    });
    if (kept) render(context);
  },

  userChanged(context) {
    forgetList();
    render(context, true);
  },

  forget(context) {
    forgetList();
    render(context, true);
  },
};
