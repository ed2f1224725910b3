// A version's metrics: a chart of each metric over steps (one series per
// dataset, split and environment), and one metric across the model's
// versions with this version marked. Two requests: the version's points
// (listMetrics, one page of up to 1000) and the comparison of the chosen
// metric (compareMetrics, one page of up to 1000 versions). The chosen
// metric and aggregate are in the URL (?metric=&aggregate=), so the view
// can be linked. Each chart has the same data as a table beside it.
import { useMemo } from "preact/hooks";
import { get, modelPath, query } from "../api.js";
import { Link, setQuery, ui } from "../router.js";
import { Empty, Load, StageBadge, Time, useLoad } from "../components/ui.jsx";
import { Chart, axis, integerIncrs, seriesStyle } from "../components/chart.jsx";
import { formatNumber } from "./model.jsx";

const pageSize = 1000;

// seriesName names the series a point belongs to.
function seriesName(m) {
  return [m.dataset, m.split, m.environment].filter(Boolean).join(" · ") || "all points";
}

// byKey groups the points by metric key, keeping the API's order (key,
// step, time, order of recording).
function byKey(points) {
  const out = new Map();
  for (const p of points) {
    if (!out.has(p.key)) out.set(p.key, []);
    out.get(p.key).push(p);
  }
  return out;
}

// aligned turns points into uPlot's columns: the sorted x values, then one
// column per series, null where a series has no point at that x. The last
// point at an x wins (the latest, in the API's order).
function aligned(points, x) {
  const xs = [...new Set(points.map(x))].sort((a, b) => a - b);
  const names = [...new Set(points.map(seriesName))].sort();
  const index = new Map(xs.map((v, i) => [v, i]));
  const cols = names.map(() => xs.map(() => null));
  for (const p of points) cols[names.indexOf(seriesName(p))][index.get(x(p))] = p.value;
  return { xs, names, cols };
}

// xRange pads a single x value so that its point is not on the edge.
function xRange(pad) {
  return (u, min, max) => (min === max ? [min - 1, max + 1] : [min - pad, max + pad]);
}

function lineSeries(names) {
  return names.map((name, i) => {
    const s = seriesStyle(i);
    return { label: name, stroke: s.stroke, dash: s.dash, width: 2, spanGaps: true, points: { size: 7, fill: s.stroke, stroke: s.stroke } };
  });
}

export function Metrics({ v, query: q }) {
  const state = useLoad(() => get(modelPath(v.model, v.version) + "/metrics" + query({ page_size: pageSize })), [v.model, v.version]);
  return (
    <Load state={state} what="the metrics" lines={10}>
      {(data) => {
        if (data.metrics.length === 0) return <Empty>No metric recorded for this version.</Empty>;
        return <MetricsView v={v} page={data} q={q} />;
      }}
    </Load>
  );
}

function MetricsView({ v, page, q }) {
  const groups = useMemo(() => byKey(page.metrics), [page]);
  const keys = [...groups.keys()];
  const chosen = groups.has(q.get("metric")) ? q.get("metric") : keys[0];
  const aggregate = ["last", "min", "max"].includes(q.get("aggregate")) ? q.get("aggregate") : "last";
  return (
    <>
      <h2>Over steps</h2>
      {page.next_page_token && (
        <p class="notice">
          This version has more than {pageSize} metric points: the charts show the first {pageSize} (by metric name, then step). The API lists the rest (listMetrics with a page token).
        </p>
      )}
      <div class="viz-grid">
        {keys.map((key, i) => (
          <StepChart key={key} id={`m${i}`} metric={key} points={groups.get(key)} />
        ))}
      </div>
      <h2 id="compare-heading">Across versions</h2>
      <form class="viz-controls" onSubmit={(e) => e.preventDefault()} aria-labelledby="compare-heading">
        <div>
          <label for="compare-metric">Metric</label>
          <select id="compare-metric" value={chosen} onChange={(e) => setQuery({ metric: e.currentTarget.value, aggregate: aggregate === "last" ? "" : aggregate })}>
            {keys.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="compare-aggregate">Point per version</label>
          <select id="compare-aggregate" value={aggregate} onChange={(e) => setQuery({ metric: chosen, aggregate: e.currentTarget.value === "last" ? "" : e.currentTarget.value })}>
            <option value="last">last (highest step)</option>
            <option value="min">lowest value</option>
            <option value="max">highest value</option>
          </select>
        </div>
      </form>
      <Comparison v={v} metric={chosen} aggregate={aggregate} />
    </>
  );
}

function StepChart({ id, metric, points }) {
  const { opts, data, summary } = useMemo(() => {
    const { xs, names, cols } = aligned(points, (p) => p.step);
    const steps = xs.length === 1 ? `step ${xs[0]}` : `steps ${xs[0]} to ${xs[xs.length - 1]}`;
    return {
      data: [xs, ...cols],
      summary: `${metric} over ${steps}, ${names.length} series: ${names.join(", ")}`,
      opts: {
        id,
        series: [{ label: "Step" }, ...lineSeries(names)],
        scales: { x: { time: false, range: xRange(0) } },
        axes: [axis("Step", { incrs: integerIncrs }), axis(metric)],
        cursor: { points: { size: 9 } },
      },
    };
  }, [metric, points]);
  const hasEnv = points.some((p) => p.environment);
  return (
    <figure class="viz-figure">
      <figcaption>
        <h3>{metric}</h3>
      </figcaption>
      <Chart opts={opts} data={data} label={summary} format={formatNumber} xLabel={(x) => `step ${x}`} />
      <details class="viz-data">
        <summary>
          Table of {metric} ({points.length} {points.length === 1 ? "point" : "points"})
        </summary>
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Points of {metric}</caption>
            <thead>
              <tr>
                <th scope="col" class="num">Step</th>
                <th scope="col" class="num">Value</th>
                <th scope="col">Dataset</th>
                <th scope="col">Split</th>
                {hasEnv && <th scope="col">Environment</th>}
                <th scope="col">Recorded</th>
              </tr>
            </thead>
            <tbody>
              {points.map((m, i) => (
                <tr key={i}>
                  <th scope="row" class="num">
                    {m.step}
                  </th>
                  <td class="num">{formatNumber(m.value)}</td>
                  <td>{m.dataset || "—"}</td>
                  <td>{m.split || "—"}</td>
                  {hasEnv && <td>{m.environment || "—"}</td>}
                  <td>
                    <Time value={m.timestamp} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}

// markVersion draws a band and a label at this version, and rings its
// points: the current version stands out among the others.
function markVersion(current) {
  return (u) => {
    const x = u.valToPos(current, "x", true);
    const { top, height, left, width } = u.bbox;
    if (!(x >= left && x <= left + width)) return;
    const r = devicePixelRatio || 1;
    const ctx = u.ctx;
    ctx.save();
    ctx.fillStyle = "rgba(10, 88, 202, 0.10)";
    ctx.fillRect(x - 14 * r, top, 28 * r, height);
    ctx.strokeStyle = "#0a58ca";
    ctx.lineWidth = 1.5 * r;
    ctx.setLineDash([4 * r, 3 * r]);
    ctx.beginPath();
    ctx.moveTo(x, top);
    ctx.lineTo(x, top + height);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = "#0a58ca";
    ctx.font = `600 ${12 * r}px system-ui, sans-serif`;
    ctx.textAlign = x > left + width - 90 * r ? "right" : "left";
    ctx.textBaseline = "top";
    ctx.fillText("this version", x + (ctx.textAlign === "right" ? -18 : 18) * r, top + 4 * r);
    const i = u.data[0].indexOf(current);
    if (i >= 0) {
      u.series.forEach((s, k) => {
        const v = u.data[k][i];
        if (k === 0 || !s.show || v === null || v === undefined) return;
        ctx.beginPath();
        ctx.arc(x, u.valToPos(v, "y", true), 7 * r, 0, 2 * Math.PI);
        ctx.lineWidth = 2.5 * r;
        ctx.strokeStyle = "#1b1f24";
        ctx.stroke();
      });
    }
    ctx.restore();
  };
}

function Comparison({ v, metric, aggregate }) {
  const state = useLoad(() => get(modelPath(v.model) + "/metrics" + query({ key: metric, aggregate: aggregate === "last" ? "" : aggregate, page_size: pageSize })), [v.model, metric, aggregate]);
  return (
    <Load state={state} what={`${metric} across the versions`} lines={10}>
      {(cmp) => <ComparisonView v={v} cmp={cmp} stale={state.loading} />}
    </Load>
  );
}

function ComparisonView({ v, cmp, stale }) {
  const metric = cmp.key;
  const { opts, data, summary } = useMemo(() => {
    const { xs, names, cols } = aligned(cmp.metrics, (p) => p.version);
    const range = xs.length ? (xs.length === 1 ? `version ${xs[0]}` : `versions ${xs[0]} to ${xs[xs.length - 1]}`) : "no version";
    return {
      data: [xs, ...cols],
      summary: `${metric} (${cmp.aggregate}) across ${range} of ${v.model}, version ${v.version} marked; ${names.length} series: ${names.join(", ")}`,
      opts: {
        id: "compare",
        series: [{ label: "Version" }, ...lineSeries(names)],
        scales: { x: { time: false, range: xRange(0.5) } },
        axes: [axis("Version", { incrs: integerIncrs, values: (u, splits) => splits.map((s) => (Number.isInteger(s) ? `v${s}` : "")) }), axis(`${metric} (${cmp.aggregate})`)],
        hooks: { draw: [markVersion(v.version)] },
        cursor: { points: { size: 9 } },
      },
    };
  }, [cmp, v.model, v.version]);
  const mine = cmp.metrics.filter((m) => m.version === v.version);
  if (cmp.metrics.length === 0) return <Empty>No version of {v.model} has the metric {metric}.</Empty>;
  const hasEnv = cmp.metrics.some((p) => p.environment);
  return (
    <figure class="viz-figure viz-wide" aria-busy={stale ? "true" : undefined}>
      <figcaption>
        <h3>
          {metric} across the versions of {v.model}
        </h3>
        <p class="hint">
          One point per version and series ({cmp.aggregate === "last" ? "the point of the highest step" : cmp.aggregate === "min" ? "the lowest value" : "the highest value"}); version {v.version} is marked
          {mine.length === 0 ? ", but it has no value of this metric" : ""}.
          {cmp.next_page_token ? ` Only the ${new Set(cmp.metrics.map((m) => m.version)).size} newest versions with ${metric} are shown.` : ""}
        </p>
      </figcaption>
      <Chart opts={opts} data={data} label={summary} height={280} format={formatNumber} xLabel={(x) => `version ${x}`} />
      <details class="viz-data">
        <summary>
          Table of {metric} by version ({cmp.metrics.length} {cmp.metrics.length === 1 ? "point" : "points"})
        </summary>
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">
              {metric} of each version of {v.model}
            </caption>
            <thead>
              <tr>
                <th scope="col" class="num">Version</th>
                <th scope="col">Stage</th>
                <th scope="col" class="num">Value</th>
                <th scope="col" class="num">Step</th>
                <th scope="col">Dataset</th>
                <th scope="col">Split</th>
                {hasEnv && <th scope="col">Environment</th>}
                <th scope="col">Recorded</th>
              </tr>
            </thead>
            <tbody>
              {cmp.metrics.map((m, i) => (
                <tr key={i} class={m.version === v.version ? "viz-current" : undefined}>
                  <th scope="row" class="num">
                    {m.version === v.version ? (
                      <span>
                        {m.version} <span class="visually-hidden">(this version)</span>
                      </span>
                    ) : (
                      <Link href={ui(v.model, m.version, "metrics") + query({ metric, aggregate: cmp.aggregate === "last" ? "" : cmp.aggregate })}>{m.version}</Link>
                    )}
                  </th>
                  <td>
                    <StageBadge stage={m.stage} />
                  </td>
                  <td class="num">{formatNumber(m.value)}</td>
                  <td class="num">{m.step}</td>
                  <td>{m.dataset || "—"}</td>
                  <td>{m.split || "—"}</td>
                  {hasEnv && <td>{m.environment || "—"}</td>}
                  <td>
                    <Time value={m.timestamp} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}
