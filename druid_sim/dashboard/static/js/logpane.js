// The task panel's Log pane: the log's tail as Druid's console reads it (?offset=-16000), unwrapped by
// default (Druid's log lines are long; a toggle wraps them), the log's whole size (which Druid's log
// endpoint never says: GET /__sim/tasks/{id}/log asks the model), Follow (keep reading the tail and stay at
// its end) or Pause (keep what is shown to read it), and a download of the whole log through Druid's own
// endpoint, with the signed-in user's credentials.

import { control, describeDruidFailure, druid, taskPath } from "./api.js";
import { $, setText } from "./dom.js";

export const LOG_TAIL_BYTES = 16000; // what the console asks for: ?offset=-16000 (reference 6.2)

let following = true;

/** 1860134 → "1.86 MB" (decimal units, as Druid's console sizes). */
export function bytes(count) {
  if (count < 1000) return `${count} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let value = count;
  let unit = -1;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 2 : value < 100 ? 1 : 0)} ${units[unit]}`;
}

/** The log's size from the model, or null when the control API cannot say (it is not needed to show the tail). */
async function logSize(id) {
  try {
    return await control(`tasks/${encodeURIComponent(id)}/log`);
  } catch {
    return null;
  }
}

function showTools(size) {
  $("#log-tools").hidden = false;
  const download = $("#log-download");
  download.disabled = !size || !size.exists;
  setText(download, size && size.exists ? `Download full log (${bytes(size.bytes)})` : "Download full log");
}

export const logPane = {
  /** Wire the tools to `current()`, which says which task the panel shows. */
  setUp(current, readFailure) {
    $("#log-follow").addEventListener("click", () => {
      following = !following;
      logPane.drawFollow();
    });
    $("#log-wrap").addEventListener("change", () => $("#detail-body").classList.toggle("wrap", $("#log-wrap").checked));
    $("#log-download").addEventListener("click", async () => {
      const id = current();
      if (!id) return;
      const button = $("#log-download");
      button.disabled = true;
      try {
        const answer = await druid(taskPath(id, "/log"), { accept: "text/plain" });
        if (!answer.ok) throw new Error(readFailure(answer));
        const link = document.createElement("a");
        link.href = URL.createObjectURL(new Blob([answer.text], { type: "text/plain" }));
        link.download = `${id}.log`;
        link.click();
        setTimeout(() => URL.revokeObjectURL(link.href), 10000);
      } catch (error) {
        setText("#detail-note", `The download failed: ${error.message}`);
        $("#detail-note").classList.add("failed");
      } finally {
        button.disabled = false;
      }
    });
    logPane.drawFollow();
  },

  drawFollow() {
    const button = $("#log-follow");
    setText(button, following ? "❚❚ Pause" : "▶ Follow");
    button.title = following ? "stop reading the log: keep what is shown" : "read the log's tail again and stay at its end";
    button.classList.toggle("active", !following);
  },

  /** The panel left the Log pane (or shows another task): hide the tools, follow again next time. */
  hide() {
    $("#log-tools").hidden = true;
    following = true;
    logPane.drawFollow();
  },

  /** What the Log pane shows now: {text, note, follow} or {note} on failure; no text while paused. */
  async content(id, state, readFailure) {
    const size = await logSize(id);
    showTools(size);
    const total = size && size.exists ? `, of ${bytes(size.bytes)} in all` : "";
    if (!following) {
      const grown = size && size.exists ? `; the log is ${bytes(size.bytes)} now` : "";
      return { paused: true, note: `Paused: the tail below is kept as it was${grown}. Follow reads it again.` };
    }
    const answer = await druid(taskPath(id, `/log?offset=-${LOG_TAIL_BYTES}`), { accept: "text/plain" });
    if (answer.status === 404) return { text: "", note: "No log yet: Druid has none until the task runs (404)." };
    if (!answer.ok) return { note: readFailure(answer) };
    let text = answer.text;
    if (text.length >= LOG_TAIL_BYTES) text = text.slice(text.indexOf("\n") + 1); // drop the cut first line, as the console does
    const growing = state === "RUNNING" ? "growing while the task runs" : "complete";
    return { text, note: `GET /task/{id}/log?offset=-${LOG_TAIL_BYTES}: the last ${LOG_TAIL_BYTES / 1000} kB${total}, ${growing}`, follow: true };
  },
};
