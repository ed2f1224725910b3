package api

import (
	"context"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/api/openapi"
)

func toDeployment(d modelkeep.Deployment) openapi.Deployment {
	return openapi.Deployment{
		Id: d.ID, Model: d.Model, Version: d.Version, Environment: d.Environment, Strategy: d.Strategy,
		TrafficPercent: d.TrafficPercent, Replaces: d.Replaces, DeployedBy: d.DeployedBy,
		DeployedAt: d.DeployedAt, EndedAt: d.EndedAt,
	}
}

func (h *Handlers) RecordDeployment(ctx context.Context, req openapi.RecordDeploymentRequestObject) (openapi.RecordDeploymentResponseObject, error) {
	d, err := h.svc.RecordDeployment(ctx, req.Model, req.Version, modelkeep.DeploymentInput{
		Environment: req.Body.Environment, Strategy: string(req.Body.Strategy),
		TrafficPercent: req.Body.TrafficPercent, Replaces: req.Body.Replaces,
	})
	if err != nil {
		return nil, err
	}
	return openapi.RecordDeployment201JSONResponse{Body: toDeployment(d)}, nil
}

func (h *Handlers) ListDeployments(ctx context.Context, req openapi.ListDeploymentsRequestObject) (openapi.ListDeploymentsResponseObject, error) {
	ds, next, err := h.svc.ListDeployments(ctx, modelkeep.ListDeploymentsInput{
		Environment: deref(req.Params.Environment), Model: deref(req.Params.Model), At: req.Params.At,
		PageSize: deref(req.Params.PageSize), PageToken: deref(req.Params.PageToken),
	})
	if err != nil {
		return nil, err
	}
	out := openapi.DeploymentList{Deployments: make([]openapi.Deployment, 0, len(ds)), NextPageToken: next}
	for _, d := range ds {
		out.Deployments = append(out.Deployments, toDeployment(d))
	}
	return openapi.ListDeployments200JSONResponse{Body: out}, nil
}

func toMetrics(ms []modelkeep.Metric) []openapi.Metric {
	out := make([]openapi.Metric, 0, len(ms))
	for _, m := range ms {
		out = append(out, openapi.Metric{
			Key: m.Key, Value: m.Value, Step: m.Step, Dataset: m.Dataset, Split: m.Split,
			Environment: optString(m.Environment), Timestamp: m.Timestamp, RecordedBy: m.RecordedBy,
			RunId: optString(m.RunID), DatasetVersion: optString(m.DatasetVersion),
		})
	}
	return out
}

func (h *Handlers) LogMetrics(ctx context.Context, req openapi.LogMetricsRequestObject) (openapi.LogMetricsResponseObject, error) {
	in := make([]modelkeep.Metric, 0, len(req.Body.Metrics))
	for _, m := range req.Body.Metrics {
		mm := modelkeep.Metric{
			Key: m.Key, Value: m.Value, Step: deref(m.Step), Dataset: deref(m.Dataset),
			Split: deref(m.Split), Environment: deref(m.Environment),
			RunID: deref(m.RunId), DatasetVersion: deref(m.DatasetVersion),
		}
		if m.Timestamp != nil {
			mm.Timestamp = *m.Timestamp
		}
		in = append(in, mm)
	}
	ms, err := h.svc.LogMetrics(ctx, req.Model, req.Version, in)
	if err != nil {
		return nil, err
	}
	return openapi.LogMetrics201JSONResponse{Body: openapi.MetricList{Metrics: toMetrics(ms)}}, nil
}

func (h *Handlers) ListMetrics(ctx context.Context, req openapi.ListMetricsRequestObject) (openapi.ListMetricsResponseObject, error) {
	ms, next, err := h.svc.ListMetrics(ctx, req.Model, req.Version, modelkeep.ListMetricsInput{
		Key: deref(req.Params.Key), PageSize: deref(req.Params.PageSize), PageToken: deref(req.Params.PageToken),
	})
	if err != nil {
		return nil, err
	}
	return openapi.ListMetrics200JSONResponse{Body: openapi.MetricPage{Metrics: toMetrics(ms), NextPageToken: next}}, nil
}
