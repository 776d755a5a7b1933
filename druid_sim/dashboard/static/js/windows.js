// Fault windows in words a presenter can use: when a window opens and closes as clock times (not
// "t 1068.72s–1098.72s"), and how long it lasts in *real* time at the clock's speed. Fault windows run on
// the virtual clock: at ×60 a 30 s window is over in half a second, and the page says so.

import { duration, timeOfDay } from "./dom.js";

/** A window's start and end in virtual seconds since the clock's start (end Infinity: open-ended), or null. */
export function windowOf(fault) {
  const between = fault.when && fault.when.between;
  if (!between) return null;
  const start = parseFloat(between[0]) || 0;
  const end = between[1] === null || between[1] === undefined ? Infinity : parseFloat(between[1]);
  return { start, end };
}

/** Virtual seconds since the clock's start, now. */
export function elapsedSeconds(clock, now) {
  return (now - clock.startMillis) / 1000;
}

/** The clock time `seconds` after the clock's start: "00:17:48" (with the date when it is not today's). */
export function clockTime(clock, seconds, now) {
  const iso = new Date(clock.startMillis + seconds * 1000).toISOString();
  const day = iso.slice(0, 10);
  const today = new Date(now).toISOString().slice(0, 10);
  return day === today ? timeOfDay(iso) : `${day} ${timeOfDay(iso)}`;
}

/** How long `virtualSeconds` take in real time at the clock's speed: "0.50 s real at ×60", "clock frozen". */
export function realLength(virtualSeconds, clock) {
  if (!Number.isFinite(virtualSeconds)) return "until removed";
  if (clock.frozen || !clock.scale) return "clock frozen";
  const real = (virtualSeconds * 1000) / clock.scale;
  const said = real < 10000 ? `${(real / 1000).toFixed(real < 1000 ? 2 : 1)} s` : duration(Math.round(real));
  return `${said} real at ×${clock.scale}`;
}

/** " = 0.50 s real at ×60", or " (clock frozen)". */
function said(seconds, clock) {
  const real = realLength(seconds, clock);
  return clock.frozen || !clock.scale ? ` (${real})` : ` = ${real}`;
}

/**
 * A fault's window, for its card: `{range, phase, text}`; `phase` is "before", "open" or "over".
 * E.g. {range: "00:17:48–00:18:18", phase: "open", text: "in force, 12s left · 0.20 s real at ×60"}.
 */
export function describeWindow(fault, clock, now) {
  const window = windowOf(fault);
  if (!window || !clock) return null;
  const elapsed = elapsedSeconds(clock, now);
  const end = Number.isFinite(window.end) ? clockTime(clock, window.end, now) : "…";
  const range = `${clockTime(clock, window.start, now)}–${end}`;
  const length = window.end - window.start;
  const virtual = (seconds) => (Number.isFinite(seconds) ? duration(Math.ceil(seconds) * 1000) : "no end");
  if (elapsed >= window.end) return { range, phase: "over", text: `over · lasted ${virtual(length)}${said(length, clock)}` };
  if (elapsed < window.start) {
    const wait = window.start - elapsed;
    return { range, phase: "before", text: `opens in ${virtual(wait)} · lasts ${virtual(length)}${said(length, clock)}` };
  }
  const left = window.end - elapsed;
  return { range, phase: "open", text: `in force, ${virtual(left)} left${said(left, clock)}` };
}

/** What a preset's windows come to at the clock's speed: "virtual 30s + 3m 30s = 0.50 s + 3.5 s real at ×60", or "". */
export function presetTiming(preset, clock) {
  const windows = (preset.faults || []).map(windowOf).filter(Boolean);
  if (!windows.length || !clock) return "";
  const lengths = windows.map((window) => window.end - window.start);
  const virtual = lengths.map((seconds) => duration(seconds * 1000)).join(" + ");
  if (clock.frozen || !clock.scale) return `virtual time ${virtual}, passing as the frozen clock is advanced`;
  const real = lengths.map((seconds) => realLength(seconds, clock).replace(/ real at ×[\d.]+$/, "")).join(" + ");
  return `virtual time ${virtual} = ${real} real at ×${clock.scale}`;
}
