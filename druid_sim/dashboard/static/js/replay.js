// The Replay view (only while a cassette is replayed): the cassette, how many requests it answered (hits)
// and did not (misses), each miss with the nearest recorded request and what differed, what spy mode
// forwarded to the upstream (and appended, with --record-new), and the recorded interactions no request
// has used yet.

import { control } from "./api.js";
import { $, h, setText, shortTime } from "./dom.js";

const SHOWN_UNUSED = 200;
const MISS_ANSWERS = {
  simulate: "answered by the model (--on-miss simulate)",
  forward: "forwarded to the upstream (--on-miss forward)",
  error: "answered 599 (--on-miss error)",
};
const UNUSED_EVERY = 5; // rounds between two reads of the unused list (it can be long)

let rounds = 0;

function card(title, value, sub, valueClass = "big") {
  return h("div", { class: "card" }, h("h3", {}, title), h("div", { class: valueClass }, value), sub ? h("div", { class: "sub" }, sub) : null);
}

function renderCassette(cassette) {
  if (!cassette || !cassette.cassette) {
    $("#replay-cards").replaceChildren(card("Cassette", "none", "this server is not replaying a cassette"));
    return;
  }
  const asked = cassette.hits + cassette.misses;
  const ratio = asked ? `${Math.round((cassette.hits / asked) * 100)}% of ${asked} requests answered from the recording` : "no request yet";
  $("#replay-cards").replaceChildren(
    card("Cassette", cassette.cassette.split("/").pop(), `${cassette.interactions} interactions recorded ${shortTime(cassette.recordedAt)} from ${cassette.upstream}`, "big name"),
    card("Hits", String(cassette.hits), ratio),
    card("Misses", String(cassette.misses), MISS_ANSWERS[cassette.onMiss] || cassette.onMiss),
    card("Policies", cassette.sequence, `repeats: ${cassette.sequence} · latency: ${cassette.latency}`),
  );
}

function target(request) {
  const query = request.query.map(([key, value]) => `${key}=${value}`).join("&");
  return h("td", { class: "request" }, h("b", {}, request.method), " ", request.path, query ? h("span", { class: "muted" }, `?${query}`) : null);
}

function nearest(miss) {
  const near = (miss.nearest || [])[0];
  if (!miss.nearest) return "(explained once, at its first miss)";
  if (!near) return "nothing recorded is close";
  const what = near.differences.map((d) => (d.name ? `${d.part} ${d.name}` : d.part)).join(", ");
  return `#${near.interaction} ${near.method} ${near.path}: ${what || near.skipped || "identical"}`;
}

function renderMissed(cassette) {
  const missed = (cassette && cassette.missed) || [];
  const rows = missed.slice().reverse().map((miss) =>
    h("tr", {}, target(miss.request), h("td", {}, miss.answeredBy), h("td", { class: "muted" }, nearest(miss))),
  );
  $("#missed-table tbody").replaceChildren(...rows);
  setText("#missed-count", String(cassette && cassette.cassette ? cassette.misses : 0));
  const forwarded = cassette && cassette.forwarded;
  $("#forwarded-panel").hidden = !forwarded;
  if (!forwarded) return;
  const sent = forwarded.recent.slice().reverse().map((item) =>
    h(
      "tr",
      {},
      target({ method: item.method, path: item.path, query: item.query ? item.query.split("&").map((pair) => pair.split("=")) : [] }),
      h("td", {}, String(item.status)),
      h("td", {}, `${item.elapsedMs} ms`),
      h("td", {}, item.recorded ? "yes" : "no"),
    ),
  );
  $("#forwarded-table tbody").replaceChildren(...sent);
  setText("#forwarded-count", forwarded.recordNew ? `${forwarded.forwarded} (${forwarded.recorded} appended)` : String(forwarded.forwarded));
}

function renderUnused(answer) {
  const rows = answer.unused.slice(0, SHOWN_UNUSED).map((item) => {
    const query = item.query.map(([key, value]) => `${key}=${value}`).join("&");
    return h(
      "tr",
      {},
      h("td", { class: "muted" }, String(item.interaction)),
      h("td", { class: "request" }, h("b", {}, item.method), " ", item.path, query ? h("span", { class: "muted" }, `?${query}`) : null),
      h("td", {}, String(item.status)),
      h("td", {}, String(item.recorded)),
      h("td", {}, String(item.played)),
    );
  });
  $("#unused-table tbody").replaceChildren(...rows);
  const more = answer.count > SHOWN_UNUSED ? ` (the first ${SHOWN_UNUSED} shown)` : "";
  setText("#unused-count", `${answer.count}${more}`);
}

export const replayView = {
  setUp() {},
  shown() {
    rounds = 0;
  },
  async refresh() {
    const cassette = await control("cassette");
    renderCassette(cassette);
    renderMissed(cassette);
    if (rounds % UNUSED_EVERY === 0) renderUnused(await control("cassette/unused"));
    rounds += 1;
  },
  forget() {
    rounds = 0;
  },
};
