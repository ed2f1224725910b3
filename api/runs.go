package api

import (
	"context"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/api/openapi"
)

func toRunEnvironment(e modelkeep.RunEnvironment) openapi.RunEnvironment {
	out := openapi.RunEnvironment{
		Framework: optString(e.Framework), FrameworkVersion: optString(e.FrameworkVersion), Hardware: optString(e.Hardware),
		ImageDigest: optString(e.ImageDigest),
	}
	if len(e.Libraries) > 0 {
		out.Libraries = &e.Libraries
	}
	return out
}

func fromRunEnvironment(e *openapi.RunEnvironment) modelkeep.RunEnvironment {
	if e == nil {
		return modelkeep.RunEnvironment{}
	}
	out := modelkeep.RunEnvironment{Framework: deref(e.Framework), FrameworkVersion: deref(e.FrameworkVersion),
		Hardware: deref(e.Hardware), ImageDigest: deref(e.ImageDigest)}
	if e.Libraries != nil {
		out.Libraries = *e.Libraries
	}
	return out
}

func toRun(r modelkeep.Run) openapi.Run {
	out := openapi.Run{
		RunId: r.ID, Kind: openapi.RunKind(r.Kind), GitCommit: optString(r.GitCommit), CodeUri: optString(r.CodeURI),
		Parameters: nonNilMap(r.Parameters), Environment: toRunEnvironment(r.Environment),
		StartedAt: r.StartedAt, EndedAt: r.EndedAt, TriggeredBy: optString(r.TriggeredBy),
		DeploymentId: optString(r.DeploymentID), OutputArtifactSha256: optString(r.OutputSHA256),
		TestLog: optString(r.TestLog), Report: optString(r.Report),
		CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	if r.GitCommit != "" || r.CodeURI != "" {
		out.CodeRef = &openapi.RunCodeRef{Repo: optString(r.CodeURI), Commit: optString(r.GitCommit)}
	}
	if c := r.Compute; c.DeviceHours != nil || c.FLOPs != nil || r.Environment.Hardware != "" {
		out.Compute = &openapi.RunCompute{DeviceHours: c.DeviceHours, Flops: c.FLOPs, Hardware: optString(r.Environment.Hardware)}
	}
	out.EnergyKwh, out.EnergyMethod = r.Compute.EnergyKWh, optString(r.Compute.EnergyMethod)
	if r.Subject != nil {
		out.Subject = &openapi.VersionRef{Model: r.Subject.Model, Version: r.Subject.Version}
	}
	if len(r.Inputs) > 0 {
		in := make([]openapi.RunInputDataset, len(r.Inputs))
		for i, d := range r.Inputs {
			in[i] = openapi.RunInputDataset{Name: d.Name, Version: d.Version}
			if d.Role != "" {
				role := openapi.RunInputDatasetRole(d.Role)
				in[i].Role = &role
			}
		}
		out.Inputs = &in
	}
	return out
}

func fromRunInput(b *openapi.RunInput) modelkeep.Run {
	r := modelkeep.Run{
		ID: b.RunId, Kind: string(deref(b.Kind)), StartedAt: b.StartedAt, EndedAt: b.EndedAt, TriggeredBy: deref(b.TriggeredBy),
		Environment: fromRunEnvironment(b.Environment), DeploymentID: deref(b.DeploymentId),
		OutputSHA256: deref(b.OutputArtifactSha256), TestLog: deref(b.TestLog), Report: deref(b.Report),
	}
	if b.Parameters != nil {
		r.Parameters = *b.Parameters
	}
	if c := b.CodeRef; c != nil {
		r.CodeURI, r.GitCommit = deref(c.Repo), deref(c.Commit)
	}
	if c := b.Compute; c != nil {
		r.Compute.DeviceHours, r.Compute.FLOPs = c.DeviceHours, c.Flops
		if r.Environment.Hardware == "" {
			r.Environment.Hardware = deref(c.Hardware)
		}
	}
	r.Compute.EnergyKWh, r.Compute.EnergyMethod = b.EnergyKwh, string(deref(b.EnergyMethod))
	if b.Subject != nil {
		r.Subject = &modelkeep.VersionRef{Model: b.Subject.Model, Version: b.Subject.Version}
	}
	if b.Inputs != nil {
		for _, d := range *b.Inputs {
			r.Inputs = append(r.Inputs, modelkeep.RunInput{Name: d.Name, Version: d.Version, Role: string(deref(d.Role))})
		}
	}
	return r
}

func (h *Handlers) RegisterRun(ctx context.Context, req openapi.RegisterRunRequestObject) (openapi.RegisterRunResponseObject, error) {
	in := fromRunInput(req.Body)
	if h.compliance != nil {
		if err := h.compliance.CheckDocumentIDs(ctx, "test_log", in.TestLog, "report", in.Report); err != nil {
			return nil, err
		}
	}
	r, created, err := h.svc.RegisterRun(ctx, in)
	if err != nil {
		return nil, err
	}
	if created {
		return openapi.RegisterRun201JSONResponse{Body: toRun(r)}, nil
	}
	return openapi.RegisterRun200JSONResponse{Body: toRun(r)}, nil
}

func (h *Handlers) ListRuns(ctx context.Context, req openapi.ListRunsRequestObject) (openapi.ListRunsResponseObject, error) {
	p := req.Params
	runs, next, err := h.svc.ListRuns(ctx, modelkeep.ListRunsInput{
		Kind: string(deref(p.Kind)), Model: deref(p.Model), Version: deref(p.Version),
		PageSize: deref(p.PageSize), PageToken: deref(p.PageToken),
	})
	if err != nil {
		return nil, err
	}
	out := openapi.RunList{Runs: make([]openapi.Run, 0, len(runs)), NextPageToken: next}
	for _, r := range runs {
		out.Runs = append(out.Runs, toRun(r))
	}
	return openapi.ListRuns200JSONResponse{Body: out}, nil
}

func (h *Handlers) GetRun(ctx context.Context, req openapi.GetRunRequestObject) (openapi.GetRunResponseObject, error) {
	r, err := h.svc.GetRun(ctx, req.RunId)
	if err != nil {
		return nil, err
	}
	return openapi.GetRun200JSONResponse{Body: toRun(r)}, nil
}
