// What the Tasks, Supervisors and Services views share: a list read from Druid each round as the signed-in
// user (nothing while a secured cluster waits for a sign-in; an answer that arrives for the previous user is
// dropped), when it was last read well, why the last read failed, and the status line saying so.

import { describeDruidFailure } from "./api.js";
import { $, setText, timeOfDay } from "./dom.js";
import { signIn } from "./signin.js";

/** A view's list: when it was last read well (virtual time) and why the last read failed (or null). */
export function listing() {
  return { at: null, problem: null };
}

/**
 * One round's read. `read()` resolves to the Druid answer whose JSON is the list (other calls it needs it
 * makes itself); `keep(json, answer)` takes a good one. Resolves to false when the answer was dropped (the
 * page signed in as someone else meanwhile), true otherwise (kept, or the failure noted in `state.problem`).
 */
export async function readAsUser(state, context, read, keep) {
  const asked = signIn.user();
  let answer;
  try {
    answer = await read();
  } catch (error) {
    if (signIn.user() !== asked) return false;
    state.problem = error.message;
    return true;
  }
  if (signIn.user() !== asked) return false;
  if (answer.ok && Array.isArray(answer.json)) {
    await keep(answer.json, answer);
    if (signIn.user() !== asked) return false;
    state.at = context.state.clock ? context.state.clock.nowMillis : null;
    state.problem = null;
  } else {
    state.problem = describeDruidFailure(answer);
  }
  return true;
}

/** The status line over a view's table: what it counted, for whom, as of when, and a failed refresh. */
export function sayStatus(selector, table, state, counted, may = "see") {
  const status = $(selector);
  const user = signIn.user();
  const when = state.at ? ` · as of ${timeOfDay(new Date(state.at).toISOString())}` : "";
  const as = user ? ` · what ${user} may ${may}` : "";
  if (signIn.needed()) setText(status, "Not signed in: no Druid request is made until you sign in.");
  else setText(status, state.problem ? `${counted}${as}${when} · the last refresh failed: ${state.problem}` : `${counted}${as}${when}`);
  status.classList.toggle("failed", Boolean(state.problem));
  $(table).classList.toggle("stale", Boolean(state.problem));
}
