// The Replay view (only while a cassette is replayed): the cassette, how many requests it answered (hits)
// and did not (misses), and the recorded interactions no request has used yet.

import { control } from "./api.js";
import { $, h, setText, shortTime } from "./dom.js";

const SHOWN_UNUSED = 200;
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
    card("Misses", String(cassette.misses), cassette.onMiss === "simulate" ? "answered by the model (--on-miss simulate)" : "answered 599 (--on-miss error)"),
    card("Policies", cassette.sequence, `repeats: ${cassette.sequence} · latency: ${cassette.latency}`),
  );
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
    renderCassette(await control("cassette"));
    if (rounds % UNUSED_EVERY === 0) renderUnused(await control("cassette/unused"));
    rounds += 1;
  },
  forget() {
    rounds = 0;
  },
};
