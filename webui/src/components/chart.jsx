// Charts drawn with uPlot, which is loaded only when a chart is shown (its
// own chunk, outside the first page's budget). A chart keeps its height
// while the library loads, follows its container's width, has a legend
// whose entries are labelled checkboxes (keyboard: show or hide a series)
// and a readout of the values under the pointer. The data stays available
// as a table beside each chart, for screen readers and keyboards.
import { useEffect, useRef, useState } from "preact/hooks";
import { ErrorBox } from "./ui.jsx";

let uplotPromise = null;

// loadUPlot imports uPlot once; a failed import may be tried again.
export function loadUPlot() {
  if (!uplotPromise) {
    uplotPromise = import("uplot").then(
      (m) => m.default,
      (err) => {
        uplotPromise = null;
        throw err;
      },
    );
  }
  return uplotPromise;
}

// Series colours: each has a contrast of at least 4.5:1 on white (WCAG
// 1.4.11 asks 3:1 of graphics); the dash patterns tell series apart
// without colour too (1.4.1).
export const palette = ["#0a58ca", "#b3261e", "#1a7f37", "#8250df", "#9a6700", "#bf3989", "#0e7490", "#57606a"];
const dashes = [[], [7, 4], [2, 3]];

// seriesStyle is the colour and dash of the i-th series (from 0).
export function seriesStyle(i) {
  return { stroke: palette[i % palette.length], dash: dashes[i % dashes.length] };
}

const ink = "#1b1f24";
const gridLine = "#d0d7de";
const font = '12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
const labelFont = '600 13px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';

// integerIncrs are tick spacings for integer scales (steps, versions).
export const integerIncrs = [];
for (let p = 1; p <= 1e15; p *= 10) integerIncrs.push(p, 2 * p, 5 * p);

// axisSize fits an axis to its longest tick label (uPlot's own default is
// a fixed width).
function axisSize(u, values, axisIdx, cycleNum) {
  const axis = u.axes[axisIdx];
  if (cycleNum > 1) return axis._size;
  let size = axis.ticks.size + axis.gap;
  const longest = (values || []).reduce((a, v) => (String(v).length > a.length ? String(v) : a), "");
  if (longest) {
    u.ctx.font = axis.font[0];
    size += u.ctx.measureText(longest).width / devicePixelRatio;
  }
  return Math.ceil(size);
}

// axis is an x or y axis in the page's colours, with its label.
export function axis(label, extra = {}) {
  return {
    label,
    stroke: ink,
    font,
    labelFont,
    labelSize: 22,
    grid: { stroke: gridLine, width: 1 },
    ticks: { stroke: gridLine, width: 1, size: 6 },
    size: axisSize,
    ...extra,
  };
}

// Chart draws opts (uPlot options without width and height) over data.
// label names the chart for assistive technology, which gets the numbers
// from the table beside it. format shows a y value in the readout.
export function Chart({ opts, data, label, height = 240, format = String, xLabel = (x) => String(x) }) {
  const box = useRef(null);
  const readout = useRef(null);
  const plot = useRef(null);
  const [error, setError] = useState(null);
  const [hidden, setHidden] = useState(() => new Set());
  const series = opts.series.slice(1);

  useEffect(() => setHidden(new Set()), [opts, data]);

  useEffect(() => {
    let live = true;
    let observer = null;
    setError(null);
    loadUPlot().then(
      (UPlot) => {
        if (!live || !box.current) return;
        const el = box.current;
        const showReadout = (u) => {
          const i = u.cursor.idx;
          if (!readout.current) return;
          if (i === null || i === undefined) {
            readout.current.textContent = "";
            return;
          }
          const parts = [];
          u.series.forEach((s, k) => {
            if (k === 0 || !s.show) return;
            const v = u.data[k][i];
            if (v !== null && v !== undefined) parts.push(`${s.label}: ${format(v)}`);
          });
          readout.current.textContent = `${xLabel(u.data[0][i])} — ${parts.join("; ") || "no value"}`;
        };
        const hooks = { ...(opts.hooks || {}), setCursor: [...((opts.hooks && opts.hooks.setCursor) || []), showReadout] };
        plot.current = new UPlot({ ...opts, hooks, width: Math.max(200, el.clientWidth), height, legend: { show: false } }, data, el);
        observer = new ResizeObserver(() => {
          if (plot.current && el.clientWidth > 0) plot.current.setSize({ width: Math.max(200, el.clientWidth), height });
        });
        observer.observe(el);
      },
      (err) => live && setError(err),
    );
    return () => {
      live = false;
      if (observer) observer.disconnect();
      if (plot.current) plot.current.destroy();
      plot.current = null;
    };
  }, [opts, data, height]);

  const toggle = (i, show) => {
    const next = new Set(hidden);
    if (show) next.delete(i);
    else next.add(i);
    setHidden(next);
    if (plot.current) plot.current.setSeries(i + 1, { show });
  };

  return (
    <div class="viz-chart">
      {error ? (
        <ErrorBox error={{ message: `The chart library did not load (${error.message}); the table below holds the same data.` }} what="the chart" />
      ) : (
        <div class="viz-plot" role="img" aria-label={label} ref={box} style={{ height: `${height}px` }} />
      )}
      <p class="viz-readout" aria-hidden="true" ref={readout} />
      {series.length > 0 && (
        <ul class="viz-legend" aria-label={`Series of ${label}`}>
          {series.map((s, i) => {
            const id = `${opts.id || "chart"}-s${i}`;
            return (
              <li key={id}>
                <input type="checkbox" id={id} checked={!hidden.has(i)} onChange={(e) => toggle(i, e.currentTarget.checked)} />
                <label for={id}>
                  <svg class="viz-swatch" width="28" height="12" viewBox="0 0 28 12" aria-hidden="true">
                    <line x1="1" y1="6" x2="27" y2="6" stroke={s.stroke} stroke-width="3" stroke-dasharray={s.dash && s.dash.length ? s.dash.join(" ") : undefined} />
                  </svg>
                  {s.label}
                </label>
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}
