// Small helpers: building DOM nodes (never from HTML strings: ids, logs and errors are data), and
// formatting times, durations and states the way Druid's web console does.

/** h("td", {class: "x"}, "text", child) */
export function h(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export const $ = (selector) => document.querySelector(selector);
export const $$ = (selector) => [...document.querySelectorAll(selector)];

export function setText(selector, text) {
  const node = typeof selector === "string" ? $(selector) : selector;
  if (node && node.textContent !== text) node.textContent = text;
}

/** 2026-01-01T00:01:02.345Z → 2026-01-01 00:01:02 */
export function shortTime(iso) {
  if (!iso) return "";
  return iso.replace("T", " ").replace(/\.\d+Z$/, "").replace(/Z$/, "");
}

export function timeOfDay(iso) {
  return shortTime(iso).slice(11);
}

export function isoOf(millis) {
  return new Date(millis).toISOString();
}

/** 83_000 → "1m 23s"; 1500 → "1.5s"; 3_723_000 → "1h 2m" */
export function duration(ms) {
  if (ms === null || ms === undefined || ms < 0) return "";
  if (ms < 1000) return `${ms} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.floor(seconds)}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${Math.floor(seconds % 60)}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h ${minutes % 60}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

/** The one state a client shows for a task (reference 4): the runner's while RUNNING, else the status. */
export function displayState(task) {
  const code = task.statusCode || task.status;
  return code === "RUNNING" ? task.runnerStatusCode || "RUNNING" : code;
}

export function pill(state, extra = "") {
  return h("span", { class: `pill state-${String(state).toLowerCase()} ${extra}`.trim() }, state);
}

export function statusClass(status) {
  if (status === null || status === undefined) return "status-cut";
  if (status < 300) return "status-ok";
  if (status < 400) return "status-redirect";
  if (status < 500) return "status-client";
  return "status-server";
}

export function plural(count, word) {
  return `${count.toLocaleString("en")} ${word}${count === 1 ? "" : "s"}`;
}
