package api

import (
	"context"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/api/openapi"
)

func toGates(gs []modelkeep.GateResult) []openapi.GateResult {
	out := make([]openapi.GateResult, 0, len(gs))
	for _, g := range gs {
		out = append(out, openapi.GateResult{Gate: g.Gate, Passed: g.Passed, Detail: g.Detail})
	}
	return out
}

func toTransition(t modelkeep.Transition) openapi.Transition {
	out := openapi.Transition{
		Id: t.ID, Model: t.Model, Version: t.Version, From: openapi.Stage(t.From), To: openapi.Stage(t.To),
		Status: openapi.TransitionStatus(t.Status), Comment: t.Comment, RequestedBy: t.RequestedBy,
		RequestedAt: t.RequestedAt, ManifestDigest: t.ManifestDigest, RequiredApprovals: t.RequiredApprovals,
		Approvals: make([]openapi.Approval, 0, len(t.Approvals)),
		DecidedBy: optString(t.DecidedBy), DecidedAt: t.DecidedAt, DecisionComment: optString(t.DecisionComment),
	}
	for _, a := range t.Approvals {
		out.Approvals = append(out.Approvals, openapi.Approval{Approver: a.Approver, Comment: a.Comment, At: a.At, Gates: toGates(a.Gates)})
	}
	return out
}

func (h *Handlers) RequestTransition(ctx context.Context, req openapi.RequestTransitionRequestObject) (openapi.RequestTransitionResponseObject, error) {
	t, err := h.svc.RequestTransition(ctx, req.Model, req.Version, modelkeep.Stage(req.Body.To), deref(req.Body.Comment))
	if err != nil {
		return nil, err
	}
	return openapi.RequestTransition201JSONResponse{Body: toTransition(t)}, nil
}

func (h *Handlers) ListTransitions(ctx context.Context, req openapi.ListTransitionsRequestObject) (openapi.ListTransitionsResponseObject, error) {
	ts, next, err := h.svc.ListTransitions(ctx, modelkeep.ListTransitionsInput{
		Model: deref(req.Params.Model), Status: string(deref(req.Params.Status)),
		PageSize: deref(req.Params.PageSize), PageToken: deref(req.Params.PageToken),
	})
	if err != nil {
		return nil, err
	}
	var reviews map[string]modelkeep.TransitionReview
	if deref(req.Params.Review) {
		if reviews, err = h.svc.ReviewTransitions(ctx, ts); err != nil {
			return nil, err
		}
	}
	out := openapi.TransitionList{Transitions: make([]openapi.Transition, 0, len(ts)), NextPageToken: next}
	for _, t := range ts {
		wire := toTransition(t)
		if r, ok := reviews[t.ID]; ok {
			wire.Review = &openapi.TransitionReview{VersionCreatedBy: r.VersionCreatedBy, Gates: toGates(r.Gates),
				MissingEvidence: nonNil(r.MissingEvidence), ApproveBlocked: r.ApproveBlocked}
		}
		out.Transitions = append(out.Transitions, wire)
	}
	return openapi.ListTransitions200JSONResponse{Body: out}, nil
}

func (h *Handlers) GetTransition(ctx context.Context, req openapi.GetTransitionRequestObject) (openapi.GetTransitionResponseObject, error) {
	t, err := h.svc.GetTransition(ctx, req.Id)
	if err != nil {
		return nil, err
	}
	return openapi.GetTransition200JSONResponse{Body: toTransition(t)}, nil
}

func (h *Handlers) ApproveTransition(ctx context.Context, req openapi.ApproveTransitionRequestObject) (openapi.ApproveTransitionResponseObject, error) {
	t, err := h.svc.ApproveTransition(ctx, req.Id, deref(req.Body.Comment))
	if err != nil {
		return nil, err
	}
	return openapi.ApproveTransition200JSONResponse{Body: toTransition(t)}, nil
}

func (h *Handlers) RejectTransition(ctx context.Context, req openapi.RejectTransitionRequestObject) (openapi.RejectTransitionResponseObject, error) {
	t, err := h.svc.RejectTransition(ctx, req.Id, deref(req.Body.Comment))
	if err != nil {
		return nil, err
	}
	return openapi.RejectTransition200JSONResponse{Body: toTransition(t)}, nil
}

func (h *Handlers) GetVersionInStage(ctx context.Context, req openapi.GetVersionInStageRequestObject) (openapi.GetVersionInStageResponseObject, error) {
	v, files, err := h.svc.VersionInStage(ctx, req.Model, modelkeep.Stage(req.Stage))
	if err != nil {
		return nil, err
	}
	ov := toVersion(v)
	out := openapi.StagedVersion{
		Model: ov.Model, Version: ov.Version, Description: ov.Description, Tags: ov.Tags, Params: ov.Params,
		Source: ov.Source, Datasets: ov.Datasets, Parent: ov.Parent, Status: ov.Status, Stage: ov.Stage,
		Aliases: ov.Aliases, ManifestDigest: ov.ManifestDigest, CreatedBy: ov.CreatedBy, CreatedAt: ov.CreatedAt,
		UpdatedAt: ov.UpdatedAt, FinalizedAt: ov.FinalizedAt, Files: make([]openapi.File, 0, len(files)),
	}
	for _, f := range files {
		out.Files = append(out.Files, toFile(f))
	}
	return openapi.GetVersionInStage200JSONResponse{Body: out}, nil
}

func toPolicy(p modelkeep.Policy) openapi.Policy {
	out := openapi.Policy{
		RequiredApprovals: p.RequiredApprovals, RequiredTags: nonNilMap(p.RequiredTags),
		MetricGates: make([]openapi.MetricGate, 0, len(p.MetricGates)), ProtectedAliases: p.ProtectedAliases,
		UpdatedBy: optString(p.UpdatedBy), RequireEvidence: &p.RequireEvidence,
	}
	if out.ProtectedAliases == nil {
		out.ProtectedAliases = []string{}
	}
	if !p.UpdatedAt.IsZero() {
		at := p.UpdatedAt
		out.UpdatedAt = &at
	}
	for _, g := range p.MetricGates {
		out.MetricGates = append(out.MetricGates, openapi.MetricGate{
			Key: g.Key, Op: openapi.MetricGateOp(g.Op), Threshold: g.Threshold,
			Dataset: optString(g.Dataset), Split: optString(g.Split),
		})
	}
	return out
}

func (h *Handlers) GetPolicy(ctx context.Context, req openapi.GetPolicyRequestObject) (openapi.GetPolicyResponseObject, error) {
	p, err := h.svc.GetPolicy(ctx, req.Model)
	if err != nil {
		return nil, err
	}
	return openapi.GetPolicy200JSONResponse{Body: toPolicy(p)}, nil
}

func (h *Handlers) PutPolicy(ctx context.Context, req openapi.PutPolicyRequestObject) (openapi.PutPolicyResponseObject, error) {
	p := modelkeep.Policy{RequiredApprovals: deref(req.Body.RequiredApprovals), RequiredTags: deref(req.Body.RequiredTags),
		RequireEvidence: deref(req.Body.RequireEvidence)}
	if req.Body.ProtectedAliases != nil {
		p.ProtectedAliases = append(p.ProtectedAliases, *req.Body.ProtectedAliases...)
	}
	for _, g := range deref(req.Body.MetricGates) {
		p.MetricGates = append(p.MetricGates, modelkeep.MetricGate{
			Key: g.Key, Op: string(g.Op), Threshold: g.Threshold, Dataset: deref(g.Dataset), Split: deref(g.Split),
		})
	}
	out, err := h.svc.PutPolicy(ctx, req.Model, p)
	if err != nil {
		return nil, err
	}
	return openapi.PutPolicy200JSONResponse{Body: toPolicy(out)}, nil
}

func (h *Handlers) GetAlias(ctx context.Context, req openapi.GetAliasRequestObject) (openapi.GetAliasResponseObject, error) {
	v, err := h.svc.ResolveAlias(ctx, req.Model, req.Alias)
	if err != nil {
		return nil, err
	}
	return openapi.GetAlias200JSONResponse{Body: toVersion(v)}, nil
}

func (h *Handlers) SetAlias(ctx context.Context, req openapi.SetAliasRequestObject) (openapi.SetAliasResponseObject, error) {
	a, previous, err := h.svc.SetAlias(ctx, req.Model, req.Alias, req.Body.Version)
	if err != nil {
		return nil, err
	}
	return openapi.SetAlias200JSONResponse{Body: openapi.Alias{
		Model: a.Model, Alias: a.Name, Version: a.Version, PreviousVersion: previous,
		UpdatedBy: a.UpdatedBy, UpdatedAt: a.UpdatedAt,
	}}, nil
}

func (h *Handlers) DeleteAlias(ctx context.Context, req openapi.DeleteAliasRequestObject) (openapi.DeleteAliasResponseObject, error) {
	if err := h.svc.DeleteAlias(ctx, req.Model, req.Alias); err != nil {
		return nil, err
	}
	return openapi.DeleteAlias204Response{}, nil
}
