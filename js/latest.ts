// A monitor's newer step of the structure a view already draws: the graph relabelled with that step's
// node ids, op times and NaN/Inf flags (Python sends only those, in the graph's node order), so that
// following the latest step costs a few hundred bytes a message and reuses the layout.
import type { GraphJSON, GraphValues } from "./protocol";

/** The graph as of `values`' step, or null when it is not of the graph's structure (a full graph follows). */
export function withValues(graph: GraphJSON, values: GraphValues): GraphJSON | null {
  if (graph.structure_hash !== values.structure_hash || graph.nodes.length !== values.ids.length) return null;
  const renamed = new Map(graph.nodes.map((n, i) => [n.id, values.ids[i]]));
  const flagged = new Map(values.flags);
  const nodes = graph.nodes.map((n, i) => ({
    ...n, id: values.ids[i], seconds: values.seconds[i] ?? null, flags: flagged.get(i) ?? { nan: false, inf: false },
    forward_id: n.forward_id == null ? null : renamed.get(n.forward_id) ?? n.forward_id,
  }));
  const edges = graph.edges.map((e) => ({ ...e, source: renamed.get(e.source)!, target: renamed.get(e.target)! }));
  return { ...graph, iteration: values.iteration, nodes, edges };
}
