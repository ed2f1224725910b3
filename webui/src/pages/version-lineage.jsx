// A version's lineage: datasets → runs → versions → deployments, across
// models, as a graph whose nodes are links (see lineage-graph.jsx), and
// the same edges as a table. One request (getLineage); the direction and
// depth are in the URL (?direction=&depth=), so the view can be linked.
import { useMemo, useState } from "preact/hooks";
import { get, modelPath, query } from "../api.js";
import { Link, setQuery } from "../router.js";
import { Empty, ErrorBox, Load, Loading, useLoad } from "../components/ui.jsx";
import { GraphLegend, LineageGraph, layout, loadDagre, nodeHref, relationText, typeNames } from "../components/lineage-graph.jsx";

const directions = [
  ["both", "Both ways"],
  ["upstream", "Upstream: what it came from"],
  ["downstream", "Downstream: what was made of it"],
];
const depths = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
const zooms = [
  ["auto", "Automatic"],
  ["fit", "Fit the width"],
  ["100", "100%"],
  ["150", "150%"],
];

export function Lineage({ v, query: q }) {
  const direction = directions.some(([d]) => d === q.get("direction")) ? q.get("direction") : "both";
  const depth = depths.includes(Number(q.get("depth"))) ? Number(q.get("depth")) : 3;
  const [zoom, setZoom] = useState("auto");
  const state = useLoad(() => get(modelPath(v.model, v.version) + "/lineage" + query({ direction, depth })), [v.model, v.version, direction, depth]);
  const dagre = useLoad(loadDagre, []);
  const change = (next) => {
    const d = { direction, depth, ...next };
    setQuery({ direction: d.direction === "both" ? "" : d.direction, depth: d.depth === 3 ? "" : d.depth });
  };
  return (
    <>
      <form class="viz-controls" onSubmit={(e) => e.preventDefault()} aria-label="What the graph shows">
        <div>
          <label for="lineage-direction">Direction</label>
          <select id="lineage-direction" value={direction} onChange={(e) => change({ direction: e.currentTarget.value })}>
            {directions.map(([d, label]) => (
              <option key={d} value={d}>
                {label}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="lineage-depth">Depth (edges from this version)</label>
          <select id="lineage-depth" value={depth} onChange={(e) => change({ depth: Number(e.currentTarget.value) })}>
            {depths.map((d) => (
              <option key={d} value={d}>
                {d}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="lineage-zoom">Size of the drawing</label>
          <select id="lineage-zoom" value={zoom} onChange={(e) => setZoom(e.currentTarget.value)}>
            {zooms.map(([z, label]) => (
              <option key={z} value={z}>
                {label}
              </option>
            ))}
          </select>
        </div>
      </form>
      <Load state={state} what="the lineage" lines={12}>
        {(g) =>
          g.nodes.length <= 1 ? (
            <Empty>
              {direction === "both"
                ? "No lineage recorded: no dataset, run, parent or deployment is linked to this version."
                : `Nothing lies ${direction} of this version${depth < 10 ? ` within ${depth} ${depth === 1 ? "edge" : "edges"}` : ""}.`}
            </Empty>
          ) : (
            <GraphView v={v} g={g} dagre={dagre} zoom={zoom} stale={state.loading} />
          )
        }
      </Load>
    </>
  );
}

function GraphView({ v, g, dagre, zoom, stale }) {
  // dagre lays out synchronously, once the graph and the library are here.
  const laid = useMemo(() => {
    if (!dagre.data) return null;
    try {
      return layout(dagre.data, g, v.model);
    } catch (error) {
      return { error };
    }
  }, [dagre.data, g, v.model]);
  const layoutError = laid && laid.error;
  const names = new Map(g.nodes.map((n) => [n.id, n]));
  const order = laid && !layoutError ? new Map(laid.nodes.map((n) => [n.id, n.order])) : new Map(g.nodes.map((n, i) => [n.id, i]));
  const edges = [...g.edges].sort((a, b) => (order.get(a.from) ?? 0) - (order.get(b.from) ?? 0) || (order.get(a.to) ?? 0) - (order.get(b.to) ?? 0));
  return (
    <div aria-busy={stale ? "true" : undefined}>
      <h2 id="lineage-heading">
        Lineage graph <span class="muted">({g.nodes.length} nodes, {g.edges.length} edges)</span>
      </h2>
      {g.truncated && <p class="notice">The graph was cut short: the walk stops at 1000 nodes or 4000 edges. Choose a smaller depth or one direction to see all of it.</p>}
      <p class="hint">Each node is a link: to a dataset version, a run, a model version, or the deployment in its version's deployments. Tab moves through them from left to right.</p>
      {dagre.error ? (
        <ErrorBox error={{ message: `The graph layout library did not load (${dagre.error.message}); the table below holds the same graph.` }} what="the drawing" />
      ) : layoutError ? (
        <ErrorBox error={{ message: `The graph could not be laid out (${layoutError.message}); the table below holds the same graph.` }} what="the drawing" />
      ) : !laid ? (
        <div class="lineage-scroll lineage-waiting">
          <Loading lines={8} label="Drawing the graph" />
        </div>
      ) : (
        <LineageGraph laid={laid} zoom={zoom} labelledBy="lineage-heading" />
      )}
      <GraphLegend />
      <h3 id="lineage-table">The graph as a table</h3>
      <div class="table-wrap">
        <table aria-labelledby="lineage-table">
          <thead>
            <tr>
              <th scope="col">From</th>
              <th scope="col">Relation</th>
              <th scope="col">To</th>
            </tr>
          </thead>
          <tbody>
            {edges.map((e, i) => (
              <tr key={i}>
                <td>
                  <NodeLink g={g} n={names.get(e.from)} id={e.from} />
                </td>
                <td>{relationText(e.relation)}</td>
                <td>
                  <NodeLink g={g} n={names.get(e.to)} id={e.to} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

function NodeLink({ g, n, id }) {
  if (!n) return <code>{id}</code>;
  const href = nodeHref(n, g.edges);
  const current = n.id === g.root;
  return (
    <span class="lineage-cell">
      <span class={`lineage-type type-${n.type}`}>{typeNames[n.type] || n.type}</span>{" "}
      {current ? (
        <strong>
          {n.label} <span class="muted">(this version)</span>
        </strong>
      ) : href ? (
        <Link href={href}>{n.label}</Link>
      ) : (
        n.label
      )}
    </span>
  );
}
