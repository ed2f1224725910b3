package api

import (
	"context"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/api/openapi"
)

func (h *Handlers) GetLineage(ctx context.Context, req openapi.GetLineageRequestObject) (openapi.GetLineageResponseObject, error) {
	g, err := h.svc.Lineage(ctx, req.Model, req.Version, modelkeep.LineageInput{
		Direction: string(deref(req.Params.Direction)), Depth: deref(req.Params.Depth),
	})
	if err != nil {
		return nil, err
	}
	out := openapi.Lineage{
		Root: g.Root, Truncated: g.Truncated,
		Nodes: make([]openapi.LineageNode, 0, len(g.Nodes)), Edges: make([]openapi.LineageEdge, 0, len(g.Edges)),
	}
	for _, n := range g.Nodes {
		out.Nodes = append(out.Nodes, openapi.LineageNode{Id: n.ID, Type: openapi.LineageNodeType(n.Type), Label: n.Label})
	}
	for _, e := range g.Edges {
		out.Edges = append(out.Edges, openapi.LineageEdge{From: e.From, To: e.To, Relation: e.Relation})
	}
	return openapi.GetLineage200JSONResponse{Body: out}, nil
}

func (h *Handlers) CompareMetrics(ctx context.Context, req openapi.CompareMetricsRequestObject) (openapi.CompareMetricsResponseObject, error) {
	p := req.Params
	agg := string(deref(p.Aggregate))
	ms, next, err := h.svc.CompareMetrics(ctx, req.Model, modelkeep.CompareMetricsInput{
		Key: p.Key, Dataset: deref(p.Dataset), Split: deref(p.Split), Aggregate: agg,
		PageSize: deref(p.PageSize), PageToken: deref(p.PageToken),
	})
	if err != nil {
		return nil, err
	}
	if agg == "" {
		agg = string(modelkeep.AggregateLast)
	}
	out := openapi.MetricComparison{
		Key: p.Key, Aggregate: openapi.MetricComparisonAggregate(agg),
		Metrics: make([]openapi.VersionMetric, 0, len(ms)), NextPageToken: next,
	}
	for _, m := range ms {
		out.Metrics = append(out.Metrics, openapi.VersionMetric{
			Version: m.Version, Stage: openapi.Stage(m.Stage), Key: m.Key, Value: m.Value, Step: m.Step,
			Dataset: m.Dataset, Split: m.Split, Environment: optString(m.Environment),
			Timestamp: m.Timestamp, RecordedBy: m.RecordedBy,
		})
	}
	return openapi.CompareMetrics200JSONResponse{Body: out}, nil
}
