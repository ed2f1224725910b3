// A version's lineage: datasets → run → version → deployments, across
// models.
import { get, modelPath, query } from "../api.js";
import { Empty, Load, useLoad } from "../components/ui.jsx";

export function Lineage({ v }) {
  const state = useLoad(() => get(modelPath(v.model, v.version) + "/lineage" + query({ direction: "both", depth: 3 })), [v.model, v.version]);
  return (
    <Load state={state} what="the lineage" lines={6}>
      {(g) =>
        g.nodes.length <= 1 ? (
          <Empty>No lineage recorded: no dataset, run, parent or deployment is linked to this version.</Empty>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">From</th>
                <th scope="col">Relation</th>
                <th scope="col">To</th>
              </tr>
            </thead>
            <tbody>
              {g.edges.map((e, i) => (
                <tr key={i}>
                  <td>
                    <code>{e.from}</code>
                  </td>
                  <td>{e.relation.replace(/_/g, " ")}</td>
                  <td>
                    <code>{e.to}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )
      }
    </Load>
  );
}
