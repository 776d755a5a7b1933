// A small SVG line chart of our own (no library): a few series over virtual time, with a legend.

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 640;
const HEIGHT = 220;
const PAD = { left: 36, right: 12, top: 12, bottom: 26 };

function el(tag, attributes = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** The top of the y axis: four gridline steps of 1, 2 or 5 × a power of ten, at or above `value`. */
function niceMax(value) {
  const rough = Math.max(1, value / 4);
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((candidate) => candidate >= rough);
  return step * 4;
}

function clock(millis) {
  return new Date(millis).toISOString().slice(11, 19);
}

/**
 * Draw `samples` ([{t, values: {key: number}}], oldest first) into `container` as one line per
 * series ([{key, label, color}]). Replaces what was drawn before.
 */
export function drawLines(container, samples, series) {
  const svg = el("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", class: "line-chart" });
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const top = niceMax(Math.max(1, ...samples.flatMap((s) => series.map((line) => s.values[line.key] || 0))));
  const first = samples.length ? samples[0].t : 0;
  const last = samples.length ? samples[samples.length - 1].t : 1;
  const span = Math.max(1, last - first);
  const x = (t) => PAD.left + ((t - first) / span) * plotW;
  const y = (v) => PAD.top + plotH - (v / top) * plotH;

  for (let i = 0; i <= 4; i += 1) {
    const value = (top / 4) * i;
    svg.append(el("line", { x1: PAD.left, x2: WIDTH - PAD.right, y1: y(value), y2: y(value), class: "grid-line" }));
    svg.append(el("text", { x: PAD.left - 6, y: y(value) + 4, class: "axis", "text-anchor": "end" }, String(Math.round(value))));
  }
  if (samples.length) {
    svg.append(el("text", { x: PAD.left, y: HEIGHT - 6, class: "axis" }, clock(first)));
    svg.append(el("text", { x: WIDTH - PAD.right, y: HEIGHT - 6, class: "axis", "text-anchor": "end" }, clock(last)));
  }
  for (const line of series) {
    if (samples.length === 0) continue;
    const points = samples.map((s) => `${x(s.t).toFixed(1)},${y(s.values[line.key] || 0).toFixed(1)}`);
    if (samples.length === 1) points.push(`${(PAD.left + plotW).toFixed(1)},${y(samples[0].values[line.key] || 0).toFixed(1)}`);
    svg.append(el("polyline", { points: points.join(" "), fill: "none", stroke: line.color, "stroke-width": 2, "data-series": line.key }));
  }
  const legend = document.createElement("div");
  legend.className = "legend";
  const latest = samples.length ? samples[samples.length - 1].values : {};
  for (const line of series) {
    const item = document.createElement("span");
    const swatch = document.createElement("i");
    swatch.style.background = line.color;
    item.append(swatch, `${line.label} ${latest[line.key] ?? "–"}`);
    legend.append(item);
  }
  container.replaceChildren(svg, legend);
}
