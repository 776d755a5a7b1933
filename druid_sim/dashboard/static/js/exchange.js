// A Traffic row opened: what the request carried (headers, body) and what its answer carried, from
// GET /__sim/journal/{seq}. The journal keeps them for its newest requests, credentials already redacted
// by the server (Authorization, cookies, secret-looking keys in a task spec); the page shows them as text.

import { control } from "./api.js";
import { h, plural } from "./dom.js";

/** The headers of one side, one per line. */
function headerList(headers) {
  if (headers === null) return h("p", { class: "muted" }, "no answer started (a fault cut the connection, or it is still coming)");
  if (!headers.length) return h("p", { class: "muted" }, "no headers");
  return h("dl", { class: "headers" }, ...headers.flatMap(([name, value]) => [h("dt", {}, name), h("dd", {}, value)]));
}

function bodyBlock(side) {
  if (!side.bodyBytes) return h("p", { class: "muted" }, "no body");
  if (side.body === null) return h("p", { class: "muted" }, `${plural(side.bodyBytes, "byte")} of binary data`);
  const kept = side.truncated ? ` (the first ${plural(side.bodyKept, "byte")} of ${plural(side.bodyBytes, "byte")})` : ` (${plural(side.bodyBytes, "byte")})`;
  return [h("p", { class: "muted" }, `body${kept}`), h("pre", { class: "body" }, side.body)];
}

function side(title, part) {
  return h("div", { class: "side" }, h("h4", {}, title), headerList(part.headers), bodyBlock(part));
}

/** The detail row's content for journal entry `seq` (a failure says why: e.g. no longer kept). */
export async function exchangeOf(seq) {
  try {
    const detail = await control(`journal/${seq}`);
    const status = detail.entry.status === null ? "no answer" : `answer ${detail.entry.status}`;
    return h("div", { class: "exchange" }, side("Request", detail.request), side(`Response (${status})`, detail.response));
  } catch (error) {
    return h("p", { class: "muted" }, error.message);
  }
}
