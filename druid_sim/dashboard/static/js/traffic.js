// The Traffic view: the journal, live. Each Druid request, the user it was made as (on a secured cluster),
// the status of its answer and what answered it (the model, the replayed cassette, a fault, named, or
// security: a secured cluster's 401s and 403s, shown apart), newest first. Read with GET
// /__sim/journal?since= so each poll only carries what is new.

import { CLIENT, PRESENTER, control, controlFile } from "./api.js";
import { $, h, plural, setText, statusClass, timeOfDay } from "./dom.js";
import { exchangeOf } from "./exchange.js";

const KEEP = 300;

let entries = []; // oldest first
let lastSeq = 0;
let total = 0;
let seenUpTo = 0; // entries up to this seq were drawn before: newer ones are highlighted once
const opened = new Map(); // seq → the opened row's detail (a node), or null while it is read

/** Open or close a row: its request and answer, read once from GET /__sim/journal/{seq}. */
async function toggle(seq) {
  if (opened.has(seq)) {
    opened.delete(seq);
    drawn = null;
    render();
    return;
  }
  opened.set(seq, null);
  drawn = null;
  render();
  const detail = await exchangeOf(seq);
  if (!opened.has(seq)) return;
  opened.set(seq, detail);
  drawn = null;
  render();
}

/** "Save as cassette": the journal's exchanges as a cassette file, downloaded (WireMock's snapshot). */
async function saveCassette() {
  try {
    const response = await controlFile("journal/cassette");
    const link = h("a", { href: URL.createObjectURL(await response.blob()), download: "druid-sim-journal.jsonl" });
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    const skipped = response.headers.get("X-Druid-Sim-Skipped");
    const left = skipped && skipped !== "none" ? ` (left out: ${skipped})` : "";
    setText("#traffic-saved", `saved ${response.headers.get("X-Druid-Sim-Exported")} exchange(s) as a cassette${left}`);
  } catch (error) {
    setText("#traffic-saved", `could not save the journal: ${error.message}`);
  }
}

function clientLabel(client) {
  if (!client) return "";
  if (client === CLIENT) return "this page";
  if (client === PRESENTER) return "this page (you)";
  return client.split(" ")[0];
}

/** A secured cluster's refusal: 401 (no or wrong credentials) or 403 (a permission the user lacks). */
function refused(entry) {
  return entry.status === 401 || entry.status === 403;
}

function userCell(entry) {
  if (entry.user) return h("td", { class: "user", title: `made as ${entry.user}` }, entry.user);
  const none = entry.status === 401 && entry.answeredBy === "security";
  return h("td", { class: "user muted", title: none ? "no credentials Druid accepted" : "" }, "—");
}

function answeredBy(entry) {
  if (entry.answeredBy === "fault") return h("span", { class: "by by-fault" }, "fault ", h("code", {}, entry.fault || "?"));
  if (!entry.answeredBy) return h("span", { class: "by" }, "—");
  return h("span", { class: `by by-${entry.answeredBy}` }, entry.answeredBy);
}

function statusCell(entry) {
  const text = entry.status === null ? (entry.answeredBy === "fault" ? "cut" : "…") : String(entry.status);
  let title = entry.status === null ? "no answer: the connection was cut (or the answer has not started)" : "";
  if (entry.status === 401) title = "401: Druid did not authenticate the request (no credentials, or wrong ones)";
  if (entry.status === 403) title = "403: the user lacks the permission this request needs";
  const kind = refused(entry) ? "status-refused" : statusClass(entry.status);
  return h("span", { class: `status ${kind}`, title }, text);
}

let drawn = null;

function render() {
  const hidePage = $("#traffic-hide-page").checked;
  const faultedOnly = $("#traffic-faulted-only").checked;
  const refusedOnly = $("#traffic-refused-only").checked;
  const signature = [lastSeq, total, hidePage, faultedOnly, refusedOnly, JSON.stringify(entries.filter((entry) => entry.status === null).map((entry) => entry.seq))].join("|");
  if (signature === drawn) return;
  drawn = signature;
  const shown = entries.filter(
    (entry) => (!hidePage || entry.client !== CLIENT) && (!faultedOnly || entry.answeredBy === "fault") && (!refusedOnly || refused(entry)),
  );
  const rows = shown
    .slice()
    .reverse()
    .flatMap((entry) => [
      h(
        "tr",
        {
          class: [entry.seq > seenUpTo ? "fresh" : "", refused(entry) ? "refused" : "", opened.has(entry.seq) ? "open" : ""].join(" ").trim() || null,
          dataset: { seq: entry.seq, answeredBy: entry.answeredBy || "", status: entry.status ?? "", user: entry.user || "" },
          title: "click: the request's headers and body, and the answer's",
          onclick: () => {
            if (!String(window.getSelection())) toggle(entry.seq);
          },
        },
        h("td", { class: "muted" }, String(entry.seq)),
        h("td", { class: "nowrap" }, timeOfDay(entry.time)),
        h("td", { class: "muted", title: entry.client || "" }, clientLabel(entry.client)),
        userCell(entry),
        h("td", { class: "request" }, h("b", {}, entry.method), " ", entry.path, entry.query ? h("span", { class: "muted" }, `?${entry.query}`) : null),
        h("td", {}, statusCell(entry)),
        h("td", {}, answeredBy(entry)),
      ),
      opened.has(entry.seq)
        ? h("tr", { class: "exchange-row", dataset: { detailOf: entry.seq } }, h("td", { colspan: "7" }, opened.get(entry.seq) || h("span", { class: "muted" }, "reading…")))
        : null,
    ].filter(Boolean));
  $("#traffic-table tbody").replaceChildren(...rows);
  // the User column only where there are users: a secured cluster (its requests' users, its refusals)
  const users = entries.some((entry) => entry.user || entry.answeredBy === "security");
  $("#traffic-table").classList.toggle("no-users", !users);
  seenUpTo = lastSeq;
  $("#traffic-empty").hidden = shown.length > 0;
  const faulted = shown.filter((entry) => entry.answeredBy === "fault").length;
  const refusals = shown.filter(refused).length;
  const alsoRefused = refusals ? `, ${refusals} refused (401, 403)` : "";
  setText("#traffic-summary", `${plural(total, "request")} received · of the ${shown.length} shown, ${faulted} answered by a fault${alsoRefused}`);
  setText("#traffic-tab-count", total ? String(total) : "");
}

export const trafficView = {
  setUp() {
    $("#traffic-hide-page").addEventListener("change", render);
    $("#traffic-faulted-only").addEventListener("change", render);
    $("#traffic-refused-only").addEventListener("change", render);
    $("#traffic-save").addEventListener("click", saveCassette);
  },

  shown() {
    render();
  },

  async refresh() {
    const answer = await control(`journal?since=${lastSeq}&limit=${KEEP}`);
    if (answer.total < lastSeq) {
      // the journal was cleared (a reset, a new scenario): start again from its beginning
      trafficView.forget();
      return trafficView.refresh();
    }
    total = answer.total;
    if (answer.entries.length) {
      entries = entries.concat(answer.entries).slice(-KEEP);
      lastSeq = answer.entries[answer.entries.length - 1].seq;
    }
    // entries still waiting for their answer (a latency or a hang) are read again until they have one
    const open = entries.filter((entry) => entry.status === null && entry.answeredBy === null);
    if (open.length) {
      const since = open[0].seq - 1;
      const again = await control(`journal?since=${since}&limit=${KEEP}`);
      const bySeq = new Map(again.entries.map((entry) => [entry.seq, entry]));
      entries = entries.map((entry) => bySeq.get(entry.seq) || entry);
    }
    render();
  },

  /** The tab's counter while another view shows: the journal's total only (no entry is read). */
  async count() {
    const answer = await control(`journal?since=${lastSeq}&limit=0`);
    if (answer.total < lastSeq) trafficView.forget();
    total = answer.total;
    setText("#traffic-tab-count", total ? String(total) : "");
  },

  forget() {
    setText("#traffic-tab-count", "");
    opened.clear();
    drawn = null;
    entries = [];
    lastSeq = 0;
    total = 0;
    seenUpTo = 0;
  },
};
