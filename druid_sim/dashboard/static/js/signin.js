// Signing in to a secured cluster: the Druid user the page's Druid calls are made as.
//
// A scenario with a `security:` section (Druid basic security) makes every Druid request need
// `Authorization: Basic`. The page reads the section from GET /__sim/scenario (users and their roles,
// never a password), or meets a Druid 401 and reads it then; it asks the presenter for a user and password
// in its own dialog, tries them once (a 401 says why Druid refused them), and keeps them for this tab
// (api.js `credentials`). The header says who the page is signed in as; the same dialog switches user or
// signs out. The Tasks view then shows what that user may read, and a presenter's action the user may
// not do shows Druid's 403.

import { PRESENTER, basicCredentials, control, credentials, describeDruidFailure, druid, whenDruidUnauthorized } from "./api.js";
import { $, h, setText } from "./dom.js";

/** How often a Druid 401 may make the page read the scenario again (someone may have loaded another). */
const REREAD_MS = 3000;

let security = null; // the scenario's `security` section: {users: [{name, roles}], roles: {...}}, or null
let secured = false; // security is on: the scenario says so (or its section could not be read after a 401)
let readAt = -Infinity;
let hooks = { changed() {} };

function dialog() {
  return $("#signin-dialog");
}

function sayInDialog(message) {
  setText("#signin-error", message || "");
}

function rolesOf(user) {
  const found = security && security.users.find((listed) => listed.name === user);
  return found ? found.roles : null;
}

function describeUser(user) {
  const roles = rolesOf(user);
  if (!roles) return user;
  return `${user} (${roles.length ? `roles: ${roles.join(", ")}` : "no roles: Druid denies it everything"})`;
}

function renderBadge() {
  const badge = $("#user-badge");
  const user = credentials.user();
  badge.hidden = !secured;
  badge.classList.toggle("signed-out", !user);
  setText(badge, user ? `Druid user: ${user}` : "Druid: sign in");
  badge.title = user
    ? `the page's Druid requests are made as ${describeUser(user)}; click to switch user or sign out`
    : "this cluster runs Druid basic security: sign in to see its tasks";
  $("#tasks-signin").hidden = !signIn.needed();
}

function renderDialog(reason) {
  const user = credentials.user();
  const users = security ? security.users : [];
  $("#signin-users").replaceChildren(
    ...users.map((listed) =>
      h(
        "button",
        {
          type: "button",
          class: listed.name === user ? "user active" : "user",
          dataset: { user: listed.name },
          title: describeUser(listed.name),
          onclick: () => {
            $("#signin-user").value = listed.name;
            $("#signin-password").focus();
          },
        },
        h("strong", {}, listed.name),
        h("small", {}, listed.roles.length ? listed.roles.join(", ") : "no roles"),
      ),
    ),
  );
  $("#signin-users-note").hidden = users.length === 0;
  setText("#signin-current", user ? `Signed in as ${describeUser(user)}.` : "Not signed in.");
  $("#signin-out").hidden = !user;
  sayInDialog(reason);
}

/** Open the dialog (unless it is open already: then only say why). */
function ask(reason = "") {
  const shown = dialog();
  if (shown.open) {
    if (reason) sayInDialog(reason);
    return;
  }
  renderDialog(reason);
  $("#signin-user").value = credentials.user() || "";
  $("#signin-password").value = "";
  if ($("#token-dialog").open) return; // the control token first: the dialog opens on the next 401 or load
  shown.showModal();
  ($("#signin-user").value ? $("#signin-password") : $("#signin-user")).focus();
}

function changed() {
  renderBadge();
  hooks.changed();
}

async function submit(event) {
  event.preventDefault();
  const user = $("#signin-user").value.trim();
  const password = $("#signin-password").value;
  if (!user || !password) return;
  const authorization = basicCredentials(user, password);
  $("#signin-password").value = ""; // typed once: kept only as the Authorization value, and only if Druid takes it
  const button = $("#signin-submit");
  button.disabled = true;
  sayInDialog(`signing in as ${user}…`);
  let answer;
  try {
    // any answer but a 401 means Druid authenticated the user (a 403 or a redirect come after that)
    answer = await druid("leader", { authorization, client: PRESENTER });
  } catch (error) {
    sayInDialog(`Druid did not answer (${error.message}): try again.`);
    return;
  } finally {
    button.disabled = false;
  }
  if (answer.status === 401) {
    sayInDialog(`Druid refused ${user}: ${describeDruidFailure(answer)}`);
    $("#signin-password").focus();
    return;
  }
  credentials.keep(user, authorization);
  dialog().close();
  changed();
}

function signOut() {
  credentials.forget();
  dialog().close();
  changed();
}

/** A Druid call made with the kept credentials (or none) was answered 401. */
function unauthorized(answer, sentUser) {
  const why = describeDruidFailure(answer);
  if (sentUser && credentials.user() === sentUser) {
    credentials.forget(); // refused now (another scenario, or a fault): ask again rather than send them on
    changed();
  }
  const reason = sentUser ? `Druid refused ${sentUser}: ${why}` : `Druid answered ${why}: sign in.`;
  if (secured) {
    ask(reason);
  } else if (performance.now() - readAt > REREAD_MS) {
    // The page thought security was off: a scenario loaded elsewhere, or an `unauthorized` fault.
    signIn.load({ after401: reason });
  }
}

export const signIn = {
  setUp(on) {
    hooks = on;
    whenDruidUnauthorized(unauthorized);
    $("#signin-form").addEventListener("submit", submit);
    $("#signin-out").addEventListener("click", signOut);
    $("#signin-cancel").addEventListener("click", () => dialog().close());
    $("#user-badge").addEventListener("click", () => ask());
    $("#tasks-signin-button").addEventListener("click", () => ask());
    renderBadge();
  },

  /**
   * Read the scenario's security section (at start, and after a token, a scenario load or a reset) and
   * ask for credentials when the cluster is secured and the page has none (or a user it no longer has).
   * `after401`: a Druid 401 made the page look; when the section cannot be read, that 401 is the evidence.
   */
  async load({ after401 = null } = {}) {
    readAt = performance.now();
    let described;
    try {
      described = await control("scenario");
    } catch {
      if (after401) {
        secured = true;
        renderBadge();
        ask(after401);
      }
      return;
    }
    const before = `${secured} ${credentials.user()}`;
    security = described && described.security ? described.security : null;
    secured = Boolean(security);
    const user = credentials.user();
    let reason = after401 && secured ? after401 : "";
    if (secured && user && !rolesOf(user)) {
      credentials.forget();
      reason = `This cluster has no user ${user}: sign in as one of its users.`;
    }
    if (`${secured} ${credentials.user()}` !== before) changed();
    else renderBadge();
    if (secured && !credentials.user()) ask(reason);
  },

  /** The cluster is secured and the page is not signed in: its Druid calls would only meet 401s. */
  needed() {
    return secured && !credentials.user();
  },

  /** Who the page's Druid calls are made as, on a secured cluster (else null). */
  user() {
    return secured ? credentials.user() : null;
  },

  /** What to add to a 403 on a presenter's action: what Druid checked, and who asked. */
  explainDenial(answer, needed) {
    if (answer.status !== 403) return "";
    const user = signIn.user();
    return ` · ${needed}${user ? `; signed in as ${describeUser(user)}` : ""}`;
  },
};
