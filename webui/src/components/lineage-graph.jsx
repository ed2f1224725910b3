// The lineage graph drawn as SVG, laid out left to right by dagre (loaded
// only when a graph is shown: its own chunk, outside the first page's
// budget). Datasets, runs, model versions and deployments have their own
// shapes and colours (see GraphLegend); the version asked about is filled;
// versions of other models are dashed. Every node is a link, and the links
// come in the order of the layout (left to right, then top to bottom), so
// that Tab walks the graph as it reads. Edges carry their relation.
import { useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import { query } from "../api.js";
import { Link, ui } from "../router.js";

let dagrePromise = null;

// loadDagre imports dagre once; a failed import may be tried again.
export function loadDagre() {
  if (!dagrePromise) {
    dagrePromise = import("@dagrejs/dagre").then(
      (m) => m.default || m,
      (err) => {
        dagrePromise = null;
        throw err;
      },
    );
  }
  return dagrePromise;
}

// relationText names an edge's relation as it reads along the arrow, from
// what was used to what was made of it. A parent relation names the way
// back (the version was derived from its parent): along the arrow, from
// the parent, it reads "derived into".
const turned = { derived_from: "derived into", fine_tuned_from: "fine-tuned into", distilled_from: "distilled into" };
export function relationText(relation) {
  return turned[relation] || relation.replace(/_/g, " ");
}

export const typeNames = { dataset: "Dataset", run: "Run", model_version: "Model version", deployment: "Deployment" };

// parseVersion reads model_version:<model>/<n> (model names have no "/").
export function parseVersion(id) {
  const m = /^model_version:([^/]+)\/(\d+)$/.exec(id);
  return m ? { model: m[1], version: Number(m[2]) } : null;
}

// nodeHref is the UI page a node leads to:
//   - a model version: its page;
//   - a dataset version: its page, with the model versions that used it;
//   - a run: its page (commit, code, parameters, inputs);
//   - a deployment: the row of its version's deployments tab, which shows
//     its environment, strategy, traffic and times. A deployment node has
//     no fields of its own in the lineage answer, but it is only ever
//     reached through its version's deployed_to edge, which names the
//     version; without that edge (a graph cut short), the environment and
//     model are read from its label ("<model> v<n> in <environment> (...)")
//     for the deployments page, filtered to them.
export function nodeHref(node, edges) {
  const rest = node.id.slice(node.id.indexOf(":") + 1);
  switch (node.type) {
    case "model_version": {
      const v = parseVersion(node.id);
      return v ? ui(v.model, v.version) : null;
    }
    case "dataset": {
      const at = rest.indexOf("@");
      if (at < 0) return null;
      return `/ui/datasets/${encodeURIComponent(rest.slice(0, at))}/versions/${encodeURIComponent(rest.slice(at + 1))}`;
    }
    case "run":
      return `/ui/runs/${encodeURIComponent(rest)}`;
    case "deployment": {
      const e = edges.find((e) => e.to === node.id && e.relation === "deployed_to" && parseVersion(e.from));
      if (e) {
        const v = parseVersion(e.from);
        return `${ui(v.model, v.version, "deployments")}#deployment-${encodeURIComponent(rest)}`;
      }
      const m = /^(\S+) v\d+ in (\S+) \(/.exec(node.label);
      return "/ui/deployments" + (m ? query({ environment: m[2], model: m[1] }) : "");
    }
  }
  return null;
}

const labelFont = '600 13px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
const typeFont = '11px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
const edgeFont = '12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
const maxChars = 32;
const nodeHeight = 46; // one line of label; each further line adds lineHeight
const lineHeight = 16;

let measureCtx = null;
function measure(text, font) {
  if (!measureCtx) measureCtx = document.createElement("canvas").getContext("2d");
  if (!measureCtx) return text.length * 7.5;
  measureCtx.font = font;
  return measureCtx.measureText(text).width;
}

function shorten(s) {
  return s.length > maxChars ? s.slice(0, maxChars - 1) + "…" : s;
}

// wrap breaks a long label in two lines, before its parenthesis if it has
// one ("fraud v3 in prod-eu" / "(canary 10%)"), else at a space; the whole
// label is the link's name and tooltip.
function wrap(label) {
  if (label.length <= 28) return [label];
  let cut = label.lastIndexOf(" (");
  if (cut < 8 || cut > maxChars) cut = label.lastIndexOf(" ", 28);
  if (cut < 8) return [shorten(label)];
  return [shorten(label.slice(0, cut)), shorten(label.slice(cut + 1))];
}

// extraWidth leaves room for the shapes' slanted or rounded ends.
const extraWidth = { dataset: 0, run: 20, model_version: 0, deployment: nodeHeight / 2 };

// layout places the graph's nodes and edges with dagre; the nodes come
// back in reading order (left to right, then top to bottom).
export function layout(dagre, graph, model) {
  const g = new dagre.graphlib.Graph({ multigraph: true });
  // Edge labels take a rank of their own (dagre), so ranksep is half the gap.
  g.setGraph({ rankdir: "LR", nodesep: 20, ranksep: 26, edgesep: 14, marginx: 16, marginy: 16 });
  g.setDefaultEdgeLabel(() => ({}));
  const nodes = new Map();
  for (const n of graph.nodes) {
    const current = n.id === graph.root;
    const kind = current ? "This version" : typeNames[n.type] || n.type;
    const lines = wrap(n.label);
    const width = Math.ceil(Math.max(...lines.map((l) => measure(l, labelFont)), measure(kind, typeFont)) + 28 + (extraWidth[n.type] || 0));
    const height = nodeHeight + lineHeight * (lines.length - 1);
    const v = n.type === "model_version" ? parseVersion(n.id) : null;
    nodes.set(n.id, { ...n, kind, lines, width, height, current, otherModel: !!v && v.model !== model, href: nodeHref(n, graph.edges) });
    g.setNode(n.id, { width, height });
  }
  const edges = graph.edges.filter((e) => nodes.has(e.from) && nodes.has(e.to));
  edges.forEach((e, i) => {
    const text = relationText(e.relation);
    g.setEdge(e.from, e.to, { width: Math.ceil(measure(text, edgeFont)) + 8, height: 16, labelpos: "c" }, `e${i}`);
  });
  dagre.layout(g);
  for (const [id, n] of nodes) {
    const p = g.node(id);
    n.x = p.x;
    n.y = p.y;
  }
  const ordered = [...nodes.values()].sort((a, b) => a.x - b.x || a.y - b.y);
  ordered.forEach((n, i) => (n.order = i));
  const laid = edges.map((e, i) => {
    const p = g.edge({ v: e.from, w: e.to, name: `e${i}` });
    return { ...e, text: relationText(e.relation), points: p.points, lx: p.x, ly: p.y, lw: p.width };
  });
  const size = g.graph();
  return { nodes: ordered, byId: nodes, edges: laid, width: Math.ceil(size.width), height: Math.ceil(size.height) };
}

// shapePath outlines a node of type t, w wide and h high, centred on 0,0.
export function shapePath(t, w, h) {
  const x0 = -w / 2;
  const x1 = w / 2;
  const y0 = -h / 2;
  const y1 = h / 2;
  switch (t) {
    case "dataset": {
      const ry = Math.min(6, h / 6);
      return `M${x0},${y0 + ry}A${w / 2},${ry} 0 0 1 ${x1},${y0 + ry}V${y1 - ry}A${w / 2},${ry} 0 0 1 ${x0},${y1 - ry}Z`;
    }
    case "run": {
      const k = Math.min(10, w / 4);
      return `M${x0 + k},${y0}H${x1 - k}L${x1},0L${x1 - k},${y1}H${x0 + k}L${x0},0Z`;
    }
    case "deployment": {
      const r = h / 2;
      return `M${x0 + r},${y0}H${x1 - r}A${r},${r} 0 0 1 ${x1 - r},${y1}H${x0 + r}A${r},${r} 0 0 1 ${x0 + r},${y0}Z`;
    }
  }
  const r = Math.min(6, h / 4);
  return `M${x0 + r},${y0}H${x1 - r}Q${x1},${y0} ${x1},${y0 + r}V${y1 - r}Q${x1},${y1} ${x1 - r},${y1}H${x0 + r}Q${x0},${y1} ${x0},${y1 - r}V${y0 + r}Q${x0},${y0} ${x0 + r},${y0}Z`;
}

// rimPath is the front rim of a dataset's cylinder.
function rimPath(w, h) {
  const ry = Math.min(6, h / 6);
  return `M${-w / 2},${-h / 2 + ry}A${w / 2},${ry} 0 0 0 ${w / 2},${-h / 2 + ry}`;
}

// edgePath is a smoothed line through dagre's points.
function edgePath(points) {
  if (!points || points.length === 0) return "";
  let d = `M${points[0].x},${points[0].y}`;
  if (points.length === 2) return d + `L${points[1].x},${points[1].y}`;
  for (let i = 1; i < points.length - 1; i++) {
    const p = points[i];
    const q = points[i + 1];
    const mx = i === points.length - 2 ? q.x : (p.x + q.x) / 2;
    const my = i === points.length - 2 ? q.y : (p.y + q.y) / 2;
    d += `Q${p.x},${p.y} ${mx},${my}`;
  }
  return d;
}

// scaleFor is the drawing's scale for a zoom choice and the width there is.
function scaleFor(zoom, width, room) {
  const fit = room > 0 ? Math.min(1, room / width) : 1;
  switch (zoom) {
    case "fit":
      return fit;
    case "100":
      return 1;
    case "150":
      return 1.5;
  }
  return fit >= 0.7 ? fit : 1; // auto: fit when that keeps the labels readable (70 % of full size), else full size and scroll
}

// LineageGraph draws a laid-out graph (from layout) at a zoom: "auto",
// "fit", "100" or "150".
export function LineageGraph({ laid, zoom, labelledBy }) {
  const scroller = useRef(null);
  const [room, setRoom] = useState(0);
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return undefined;
    setRoom(el.clientWidth);
    const observer = new ResizeObserver(() => setRoom(el.clientWidth));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  const scale = scaleFor(zoom, laid.width, room - 2);
  // A graph larger than its frame opens with this version in view.
  useLayoutEffect(() => {
    const el = scroller.current;
    const me = laid.nodes.find((n) => n.current);
    if (!el || !me) return;
    if (el.scrollWidth > el.clientWidth) el.scrollLeft = Math.max(0, me.x * scale - el.clientWidth / 2);
    if (el.scrollHeight > el.clientHeight) el.scrollTop = Math.max(0, me.y * scale - el.clientHeight / 2);
  }, [laid, scale]);
  const markers = useMemo(
    () => (
      <defs>
        <marker id="lineage-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse" markerUnits="strokeWidth">
          <path d="M0,0L10,5L0,10Z" class="lineage-arrowhead" />
        </marker>
      </defs>
    ),
    [],
  );
  return (
    <div class="lineage-scroll" ref={scroller}>
      <svg
        class="lineage-svg"
        width={Math.ceil(laid.width * scale)}
        height={Math.ceil(laid.height * scale)}
        viewBox={`0 0 ${laid.width} ${laid.height}`}
        role="group"
        aria-labelledby={labelledBy}
      >
        {markers}
        <g class="lineage-edges" aria-hidden="true">
          {laid.edges.map((e, i) => (
            <path key={i} d={edgePath(e.points)} class={`lineage-edge rel-${e.relation}`} marker-end="url(#lineage-arrow)" />
          ))}
        </g>
        <g class="lineage-edge-labels" aria-hidden="true">
          {laid.edges.map((e, i) => (
            <g key={i}>
              <rect x={e.lx - e.lw / 2} y={e.ly - 8} width={e.lw} height="16" rx="3" class="lineage-edge-label-bg" />
              <text x={e.lx} y={e.ly} text-anchor="middle" dominant-baseline="central" class="lineage-edge-label">
                {e.text}
              </text>
            </g>
          ))}
        </g>
        {laid.nodes.map((n) => (
          <GraphNode key={n.id} n={n} />
        ))}
      </svg>
    </div>
  );
}

function GraphNode({ n }) {
  const name = `${typeNames[n.type] || n.type} ${n.label}${n.current ? " (this version)" : ""}${n.otherModel ? " (another model)" : ""}`;
  const cls = `lineage-node type-${n.type}${n.current ? " is-current" : ""}${n.otherModel ? " is-other" : ""}`;
  const dy = (n.type === "dataset" ? 3 : 0) - (lineHeight / 2) * (n.lines.length - 1);
  const body = (
    <>
      <title>{name}</title>
      <rect class="lineage-ring" x={-n.width / 2 - 5} y={-n.height / 2 - 5} width={n.width + 10} height={n.height + 10} rx="9" />
      <path class="lineage-shape" d={shapePath(n.type, n.width, n.height)} />
      {n.type === "dataset" && <path class="lineage-rim" d={rimPath(n.width, n.height)} />}
      <text class="lineage-kind" y={-7 + dy} text-anchor="middle">
        {n.kind}
      </text>
      {n.lines.map((line, i) => (
        <text key={i} class="lineage-label" y={11 + dy + lineHeight * i} text-anchor="middle">
          {line}
        </text>
      ))}
    </>
  );
  const transform = `translate(${n.x},${n.y})`;
  if (!n.href) {
    return (
      <g class={cls} transform={transform} role="img" aria-label={name}>
        {body}
      </g>
    );
  }
  return (
    <Link href={n.href} class={cls} transform={transform} aria-label={name}>
      {body}
    </Link>
  );
}

// GraphLegend names the shapes and marks of the graph.
export function GraphLegend() {
  const item = (t, label, extra = "") => (
    <li key={label}>
      <svg width="44" height="26" viewBox="-22 -13 44 26" aria-hidden="true" class="lineage-legend-icon">
        <g class={`lineage-node type-${t}${extra}`}>
          <path class="lineage-shape" d={shapePath(t, 40, 22)} />
          {t === "dataset" && <path class="lineage-rim" d={rimPath(40, 22)} />}
        </g>
      </svg>
      {label}
    </li>
  );
  return (
    <ul class="lineage-legend" aria-label="Legend of the graph">
      {item("dataset", "Dataset version")}
      {item("run", "Run")}
      {item("model_version", "Model version")}
      {item("model_version", "This version", " is-current")}
      {item("model_version", "Version of another model", " is-other")}
      {item("deployment", "Deployment")}
      <li>
        <svg width="44" height="26" viewBox="0 0 44 26" aria-hidden="true" class="lineage-legend-icon">
          <path d="M2,13H40" class="lineage-edge" marker-end="url(#lineage-arrow)" />
        </svg>
        Edge: used by or made into, labelled with the relation
      </li>
    </ul>
  );
}
