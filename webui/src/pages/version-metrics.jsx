// A version's metrics: each metric's points over steps, and one metric
// across the model's versions.
import { get, modelPath, query } from "../api.js";
import { Empty, Load, Time, useLoad } from "../components/ui.jsx";
import { formatNumber } from "./model.jsx";

export function Metrics({ v }) {
  const state = useLoad(() => get(modelPath(v.model, v.version) + "/metrics" + query({ page_size: 1000 })), [v.model, v.version]);
  return (
    <Load state={state} what="the metrics" lines={6}>
      {(data) => {
        if (data.metrics.length === 0) return <Empty>No metric recorded for this version.</Empty>;
        return (
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Metric</th>
                  <th scope="col" class="num">Step</th>
                  <th scope="col" class="num">Value</th>
                  <th scope="col">Dataset</th>
                  <th scope="col">Split</th>
                  <th scope="col">Recorded</th>
                </tr>
              </thead>
              <tbody>
                {data.metrics.map((m, i) => (
                  <tr key={i}>
                    <th scope="row">{m.key}</th>
                    <td class="num">{m.step}</td>
                    <td class="num">{formatNumber(m.value)}</td>
                    <td>{m.dataset || "—"}</td>
                    <td>{m.split || "—"}</td>
                    <td>
                      <Time value={m.timestamp} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        );
      }}
    </Load>
  );
}
