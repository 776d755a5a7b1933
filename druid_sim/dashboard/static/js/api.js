// Talking to the server: the public control API (/__sim/) and the Druid endpoints, nothing else.
//
// Control calls carry the control token when one is kept (Authorization: Bearer), JSON bodies with
// Content-Type: application/json, and come from this page's own origin. Druid calls are ordinary client
// requests (faults hit them as any client's), tagged with X-Druid-Sim-Client so the traffic view can
// tell them apart; they never follow a redirect (a failed-over leader's 307 is shown, not followed) and
// give up after a timeout so a hanging fault never holds the browser's few connections. On a secured
// cluster they carry the Druid user the presenter signed in as (Authorization: Basic); control calls
// name that user in X-Druid-Sim-Viewer instead (empty when nobody is signed in), so the Cluster and
// Traffic views show only what the user may read (druid_sim/security/viewer.py).

const TOKEN_KEY = "druid-sim-token";
const CREDENTIALS_KEY = "druid-sim-druid-credentials";
const DRUID_TIMEOUT_MS = 10000;
const CONTROL_TIMEOUT_MS = 15000;
/** How the journal shows this page's requests. */
export const CLIENT = "druid-sim-dashboard";
/** What the page sends: its name with the key the server put in the page, which no other client sends. */
const SIGNED_CLIENT = document.body.dataset.client || CLIENT;

/** A call that did not succeed: `status` 0 when no answer came (connection cut, timeout). */
export class CallError extends Error {
  constructor(message, status = 0, body = null, extra = {}) {
    super(message);
    this.status = status;
    this.body = body;
    Object.assign(this, extra);
  }
}

export const token = {
  get() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  set(value) {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  },
  /** A token given as #token=... in the address (e.g. #traffic&token=...): kept, then removed from the address bar. */
  takeFromFragment() {
    const parts = location.hash.slice(1).split("&");
    const given = parts.find((part) => part.startsWith("token="));
    if (!given) return;
    this.set(decodeURIComponent(given.slice("token=".length)));
    const rest = parts.filter((part) => part && !part.startsWith("token=")).join("&");
    history.replaceState(null, "", location.pathname + location.search + (rest ? `#${rest}` : ""));
  },
};

/** `user:password` as Druid's Basic authenticator decodes it: Base64 of the UTF-8 bytes (btoa alone takes Latin-1). */
export function basicCredentials(user, password) {
  let binary = "";
  for (const byte of new TextEncoder().encode(`${user}:${password}`)) binary += String.fromCharCode(byte);
  return `Basic ${btoa(binary)}`;
}

/**
 * The Druid user this tab signs in as: its name and the Authorization value, in sessionStorage (gone when
 * the tab closes; never in the address, the page's state or a log). Sent on Druid calls only.
 */
export const credentials = {
  read() {
    try {
      const kept = JSON.parse(sessionStorage.getItem(CREDENTIALS_KEY) || "null");
      return kept && typeof kept.user === "string" && typeof kept.authorization === "string" ? kept : null;
    } catch {
      return null;
    }
  },
  user() {
    const kept = this.read();
    return kept ? kept.user : null;
  },
  keep(user, authorization) {
    sessionStorage.setItem(CREDENTIALS_KEY, JSON.stringify({ user, authorization }));
  },
  forget() {
    sessionStorage.removeItem(CREDENTIALS_KEY);
  },
};

let onUnauthorized = () => {};
/** What to do when the control API answers 401 (ask for the token). */
export function whenUnauthorized(handler) {
  onUnauthorized = handler;
}

async function fetchWithin(url, options, timeoutMs) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    return await fetch(url, { ...options, signal: controller.signal });
  } catch (error) {
    const reason = error.name === "AbortError" ? `no answer within ${timeoutMs / 1000} s` : "connection failed or was reset";
    throw new CallError(reason, 0, null, { cut: true });
  } finally {
    clearTimeout(timer);
  }
}

function controlHeaders(accept) {
  const signedIn = credentials.read(); // the Druid user signed in: the control API shows only what it may read
  const headers = { Accept: accept, "X-Druid-Sim-Viewer": signedIn ? signedIn.authorization : "" };
  const kept = token.get();
  if (kept) headers.Authorization = `Bearer ${kept}`;
  return headers;
}

/** A control-API file (`path` under __sim/, such as the journal as a cassette): resolves to the Response. */
export async function controlFile(path) {
  const response = await fetchWithin(`__sim/${path}`, { headers: controlHeaders("*/*"), cache: "no-store" }, CONTROL_TIMEOUT_MS);
  if (response.status === 401) onUnauthorized(null);
  if (!response.ok) throw new CallError(`${response.status} ${response.statusText}`, response.status, null);
  return response;
}

/** A control-API call: `path` under __sim/, an optional JSON `body`. Resolves to the parsed answer. */
export async function control(path, { method = "GET", body } = {}) {
  const headers = controlHeaders("application/json");
  const kept = token.get(); // the token this call was made with
  const options = { method, headers, cache: "no-store" };
  if (method !== "GET") {
    headers["Content-Type"] = "application/json";
    options.body = body === undefined ? "{}" : JSON.stringify(body);
  }
  const response = await fetchWithin(`__sim/${path}`, options, CONTROL_TIMEOUT_MS);
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  // a 401 to a call made with a token since replaced (the presenter typed another meanwhile) asks nothing
  if (response.status === 401 && token.get() === kept) onUnauthorized(parsed && parsed.message);
  if (!response.ok) {
    const message = (parsed && parsed.message) || `${response.status} ${response.statusText}`;
    throw new CallError(message, response.status, parsed);
  }
  return parsed;
}

/** What the presenter's own Druid calls (submit, shut down) are journaled as: shown in Traffic, unlike polls. */
export const PRESENTER = `${CLIENT} presenter`;

let onDruidUnauthorized = () => {};
/** What to do when Druid answers 401 to a call made with the kept credentials (or none). */
export function whenDruidUnauthorized(handler) {
  onDruidUnauthorized = handler;
}

/**
 * A Druid call, as any client makes it. Resolves to {status, statusText, ok, text, json, redirect,
 * contentType}; rejects with a CallError only when no answer came at all. `client` names it in the
 * journal: the page's polls are CLIENT (hidden in Traffic by default), what the presenter does is
 * PRESENTER. `authorization` overrides the kept credentials (signing in tries them before keeping them).
 *
 * `credentials: "omit"`: the browser adds nothing of its own (no cookies, no HTTP authentication it
 * cached from another tab) and, above all, never answers a 401 carrying `WWW-Authenticate: Basic` with
 * its native login prompt, which it does for same-origin fetches otherwise; the page asks in its own dialog.
 */
export async function druid(path, { method = "GET", body, accept = "application/json", client = CLIENT, authorization } = {}) {
  const named = client.startsWith(CLIENT) ? SIGNED_CLIENT + client.slice(CLIENT.length) : client;
  const headers = { Accept: accept, "X-Druid-Sim-Client": named };
  const sent = authorization === undefined ? credentials.read() : null;
  const basic = authorization === undefined ? sent && sent.authorization : authorization;
  if (basic) headers.Authorization = basic;
  const options = { method, headers, redirect: "manual", cache: "no-store", credentials: "omit" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    options.body = typeof body === "string" ? body : JSON.stringify(body);
  }
  const response = await fetchWithin(`druid/indexer/v1/${path}`, options, DRUID_TIMEOUT_MS);
  if (response.type === "opaqueredirect") {
    return { status: 307, statusText: "Temporary Redirect", ok: false, text: "", json: null, redirect: true, contentType: "" };
  }
  let text;
  try {
    text = await response.text();
  } catch {
    throw new CallError("the answer was cut off before its end", response.status, null, { cut: true });
  }
  const contentType = response.headers.get("content-type") || "";
  let json = null;
  if (contentType.includes("json")) {
    try {
      json = JSON.parse(text);
    } catch {
      json = null; // Druid labels some raw strings application/json (reference 2.10, 2.16)
    }
  }
  const answer = { status: response.status, statusText: response.statusText, ok: response.ok, text, json, redirect: false, contentType };
  if (answer.status === 401 && authorization === undefined) onDruidUnauthorized(answer, sent ? sent.user : null);
  return answer;
}

/** One line saying what a failed Druid answer was, the way a client would report it. */
export function describeDruidFailure(answer) {
  if (answer.redirect) return "307 Temporary Redirect: this Overlord is not the leader";
  // a secured cluster's refusals say their reason phrase too: "401 Unauthorized", "403 Forbidden"
  const status = [401, 403].includes(answer.status) && answer.statusText ? `${answer.status} ${answer.statusText}` : `${answer.status}`;
  const json = answer.json;
  if (json && typeof json === "object") {
    const checked = json["Access-Check-Result"]; // Druid's ForbiddenException body
    if (typeof checked === "string") return `${status}: Access-Check-Result: ${checked}`;
    const said = json.errorMessage || json.error || json.message;
    if (said) return `${status}: ${said}`;
  }
  if (answer.contentType.includes("html")) {
    // Jetty's error page: its title is "Error 401 <message>", HTML-escaped (DOMParser runs no script)
    const title = new DOMParser().parseFromString(answer.text, "text/html").title.trim();
    if (title) return `${status}: ${title.replace(/^Error \d+ /, "")}`;
  }
  const text = answer.text.trim().split("\n")[0];
  return text ? `${status}: ${text.slice(0, 200)}` : status;
}

/** Druid task ids in paths are percent-encoded, as the web console and druidapi send them. */
export function taskPath(id, rest = "") {
  return `task/${encodeURIComponent(id)}${rest}`;
}
