package modelkeep

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/modelkeep/modelkeep/audit"
)

func transitionResource(id string) string { return "transitions/" + id }

func validateComment(c string, required bool) error {
	switch {
	case required && c == "":
		return Errorf(ErrInvalid, "a comment is required")
	case len(c) > MaxDescriptionLen:
		return Errorf(ErrInvalid, "comment is longer than %d bytes", MaxDescriptionLen)
	}
	return nil
}

// RequestTransition asks to move a ready version to another stage. Moves
// into production wait for approvals; an approver's other moves execute at
// once, through the same request record so that they are audited alike.
func (s *Service) RequestTransition(ctx context.Context, model string, number int, to Stage, comment string) (Transition, error) {
	if err := validateVersionRef(model, number); err != nil {
		return Transition{}, err
	}
	if to != StageStaging && to != StageProduction && to != StageArchived {
		return Transition{}, Errorf(ErrInvalid, "a transition goes to staging, production or archived, not %q", to)
	}
	if err := validateComment(comment, false); err != nil {
		return Transition{}, err
	}
	actor, _ := ActorFrom(ctx)
	var id string
	err := s.meta.InTx(ctx, func(tx MetaStore) error {
		v, err := tx.GetVersion(ctx, model, number)
		if err != nil {
			return err
		}
		if v.Status != StatusReady {
			return Errorf(ErrConflict, "version %s/%d is %s: only ready versions change stage", model, number, v.Status)
		}
		if v.Stage == to {
			return Errorf(ErrConflict, "version %s/%d is already in %s", model, number, to)
		}
		required := 1
		if to == StageProduction {
			p, err := tx.GetPolicy(ctx, model)
			if err != nil {
				return err
			}
			required = p.RequiredApprovals
		}
		t := Transition{
			ID: newUploadID(), Model: model, Version: number, From: v.Stage, To: to, Status: TransitionPending,
			Comment: comment, RequestedBy: actorName(ctx), RequestedAt: s.Now(),
			ManifestDigest: v.ManifestDigest, RequiredApprovals: required,
		}
		if err := tx.CreateTransition(ctx, t); err != nil {
			return err
		}
		id = t.ID
		if err := s.audit(ctx, tx, "transition.request", transitionResource(t.ID), map[string]any{
			"model": model, "version": number, "from": t.From, "to": to, "comment": comment,
			"manifest_digest": t.ManifestDigest, "required_approvals": required}); err != nil {
			return err
		}
		if to != StageProduction && actor.HasAnyRole(RoleApprover) {
			return s.execute(ctx, tx, t, comment)
		}
		return nil
	})
	if err != nil {
		return Transition{}, err
	}
	return s.meta.GetTransition(ctx, id)
}

// execute moves the version and closes the transition as approved, in the
// caller's transaction. Into production, the model's current production
// version is archived first: with the model locked, there is never a
// moment with two.
func (s *Service) execute(ctx context.Context, tx MetaStore, t Transition, comment string) error {
	if err := tx.LockModel(ctx, t.Model); err != nil {
		return err
	}
	// Read again under the lock: the stage may have moved since.
	v, err := tx.GetVersion(ctx, t.Model, t.Version)
	if err != nil {
		return err
	}
	if v.ManifestDigest != t.ManifestDigest {
		return Errorf(ErrConflict, "version %s/%d no longer has the manifest digest the request was made for", t.Model, t.Version)
	}
	if v.Stage == t.To {
		return Errorf(ErrConflict, "version %s/%d is already in %s", t.Model, t.Version, t.To)
	}
	now := s.Now()
	if t.To == StageProduction {
		current, err := tx.VersionsInStage(ctx, t.Model, StageProduction, 0)
		if err != nil {
			return err
		}
		for _, old := range current {
			if err := tx.SetStage(ctx, t.Model, old.Number, StageProduction, StageArchived, now); err != nil {
				return err
			}
			if err := s.audit(ctx, tx, "version.stage", versionResource(t.Model, old.Number), map[string]any{
				"from": StageProduction, "to": StageArchived, "because": fmt.Sprintf("version %d entered production", t.Version),
				"transition": t.ID}); err != nil {
				return err
			}
		}
	}
	if err := tx.SetStage(ctx, t.Model, t.Version, v.Stage, t.To, now); err != nil {
		return err
	}
	if err := tx.DecideTransition(ctx, t.ID, TransitionApproved, actorName(ctx), comment, now); err != nil {
		return err
	}
	return s.audit(ctx, tx, "version.stage", versionResource(t.Model, t.Version), map[string]any{
		"from": v.Stage, "to": t.To, "transition": t.ID, "manifest_digest": t.ManifestDigest})
}

// ApproveTransition adds the caller's approval and executes the transition
// once it has enough. Into production: four eyes (the approver is neither the
// requester nor the version's creator) and the model's promotion gates.
func (s *Service) ApproveTransition(ctx context.Context, id, comment string) (Transition, error) {
	if err := validateComment(comment, true); err != nil {
		return Transition{}, err
	}
	actor, _ := ActorFrom(ctx)
	approver := actorName(ctx)
	var gateErr *GateError
	err := s.meta.InTx(ctx, func(tx MetaStore) error {
		t, err := pendingTransition(ctx, tx, actor, id)
		if err != nil {
			return err
		}
		v, err := tx.GetVersion(ctx, t.Model, t.Version)
		if err != nil {
			return err
		}
		var gates []GateResult
		if t.To == StageProduction {
			if approver == t.RequestedBy {
				return Errorf(ErrForbidden, "four eyes: %s requested this transition and cannot approve it", approver)
			}
			if approver == v.CreatedBy {
				return Errorf(ErrForbidden, "four eyes: %s created version %d and cannot approve its way to production", approver, v.Number)
			}
			p, err := tx.GetPolicy(ctx, t.Model)
			if err != nil {
				return err
			}
			metrics, err := tx.ListMetricsPage(ctx, MetricFilter{Model: t.Model, Number: t.Version}) // every point
			if err != nil {
				return err
			}
			gates = EvaluateGates(p, v, metrics)
			for _, g := range gates {
				if !g.Passed {
					gateErr = &GateError{Results: gates}
					return gateErr
				}
			}
		}
		if slices.ContainsFunc(t.Approvals, func(a Approval) bool { return a.Approver == approver }) {
			return Errorf(ErrConflict, "%s approved transition %s already: approvals must come from distinct approvers", approver, id)
		}
		if err := tx.AddApproval(ctx, id, Approval{Approver: approver, Comment: comment, At: s.Now(), Gates: gates}); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, "transition.approve", transitionResource(id), map[string]any{
			"model": t.Model, "version": t.Version, "to": t.To, "comment": comment, "gates": gates,
			"approvals": len(t.Approvals) + 1, "required_approvals": t.RequiredApprovals}); err != nil {
			return err
		}
		if len(t.Approvals)+1 < t.RequiredApprovals {
			return nil
		}
		return s.execute(ctx, tx, t, comment)
	})
	if gateErr != nil {
		details := map[string]any{"gates": gateErr.Results}
		s.recordRefusal(ctx, "transition.approve.refused", transitionResource(id), details)
	} else if errors.Is(err, ErrForbidden) {
		s.RecordDenied(ctx, "approveTransition", transitionResource(id), err.Error())
	}
	if err != nil {
		return Transition{}, err
	}
	return s.meta.GetTransition(ctx, id)
}

// pendingTransition reads transition id for a decision by actor: ErrForbidden
// when the actor's token does not cover its model, ErrConflict when it is
// decided already.
func pendingTransition(ctx context.Context, tx MetaStore, actor Actor, id string) (Transition, error) {
	t, err := tx.GetTransition(ctx, id)
	if err != nil {
		return Transition{}, err
	}
	if !actor.CanAccessModel(t.Model) {
		return Transition{}, Errorf(ErrForbidden, "the token is not valid for model %q", t.Model)
	}
	if t.Status != TransitionPending {
		return Transition{}, Errorf(ErrConflict, "transition %s is %s already", id, t.Status)
	}
	return t, nil
}

// RejectTransition closes a pending transition without moving the version.
func (s *Service) RejectTransition(ctx context.Context, id, comment string) (Transition, error) {
	if err := validateComment(comment, true); err != nil {
		return Transition{}, err
	}
	actor, _ := ActorFrom(ctx)
	err := s.meta.InTx(ctx, func(tx MetaStore) error {
		t, err := pendingTransition(ctx, tx, actor, id)
		if err != nil {
			return err
		}
		if err := tx.DecideTransition(ctx, id, TransitionRejected, actorName(ctx), comment, s.Now()); err != nil {
			return err
		}
		return s.audit(ctx, tx, "transition.reject", transitionResource(id), map[string]any{
			"model": t.Model, "version": t.Version, "to": t.To, "comment": comment})
	})
	if err != nil {
		return Transition{}, err
	}
	return s.meta.GetTransition(ctx, id)
}

// GetTransition reads one transition with its approvals.
func (s *Service) GetTransition(ctx context.Context, id string) (Transition, error) {
	t, err := s.meta.GetTransition(ctx, id)
	if err != nil {
		return Transition{}, err
	}
	if a, ok := ActorFrom(ctx); ok && !a.CanAccessModel(t.Model) {
		return Transition{}, Errorf(ErrForbidden, "the token is not valid for model %q", t.Model)
	}
	return t, nil
}

// ListTransitionsInput selects and pages transitions.
type ListTransitionsInput struct {
	Model     string
	Status    string
	PageSize  int
	PageToken string
}

// ListTransitions lists transitions, newest first.
func (s *Service) ListTransitions(ctx context.Context, in ListTransitionsInput) ([]Transition, string, error) {
	if err := checkListScope(ctx, in.Model); err != nil {
		return nil, "", err
	}
	limit, before, beforeID, err := startTimedPage(in.PageSize, in.PageToken)
	if err != nil {
		return nil, "", err
	}
	ts, err := s.meta.ListTransitions(ctx, TransitionFilter{
		Model: in.Model, Status: TransitionStatus(in.Status),
		BeforeRequestedAt: before, BeforeID: beforeID, Limit: limit + 1,
	})
	if err != nil {
		return nil, "", err
	}
	ts, next := endPage(ts, limit, func(t Transition) pageCursor {
		return pageCursor{Name: t.ID, Time: t.RequestedAt.UnixMicro()}
	})
	return ts, next, nil
}

// checkListScope: a token restricted to some models lists one model at a
// time, and only one it may see.
func checkListScope(ctx context.Context, model string) error {
	a, ok := ActorFrom(ctx)
	switch {
	case !ok || len(a.Models) == 0:
		return nil
	case model == "":
		return Errorf(ErrInvalid, "a token restricted to some models must name one: ?model=")
	case !a.CanAccessModel(model):
		return Errorf(ErrForbidden, "the token is not valid for model %q", model)
	}
	return nil
}

// VersionInStage returns the version now in a stage (the one moved there
// last) with its files: what a deploy pipeline pulls.
func (s *Service) VersionInStage(ctx context.Context, model string, stage Stage) (Version, []File, error) {
	if err := ValidateName("model", model); err != nil {
		return Version{}, nil, err
	}
	// VersionsInStage says ErrNotFound for a missing model.
	vs, err := s.meta.VersionsInStage(ctx, model, stage, 1)
	if err != nil {
		return Version{}, nil, err
	}
	if len(vs) == 0 {
		return Version{}, nil, Errorf(ErrNotFound, "model %q has no version in %s", model, stage)
	}
	files, err := s.meta.ListFiles(ctx, model, vs[0].Number)
	if err != nil {
		return Version{}, nil, err
	}
	return vs[0], files, nil
}

// GetPolicy reads a model's promotion policy.
func (s *Service) GetPolicy(ctx context.Context, model string) (Policy, error) {
	if err := ValidateName("model", model); err != nil {
		return Policy{}, err
	}
	if _, err := s.meta.GetModel(ctx, model); err != nil {
		return Policy{}, err
	}
	return s.meta.GetPolicy(ctx, model)
}

// PutPolicy replaces a model's promotion policy.
func (s *Service) PutPolicy(ctx context.Context, model string, p Policy) (Policy, error) {
	if err := ValidateName("model", model); err != nil {
		return Policy{}, err
	}
	if p.RequiredApprovals == 0 {
		p.RequiredApprovals = 1
	}
	if err := p.Validate(); err != nil {
		return Policy{}, err
	}
	p.UpdatedBy, p.UpdatedAt = actorName(ctx), s.Now()
	err := s.meta.InTx(ctx, func(tx MetaStore) error {
		if _, err := tx.GetModel(ctx, model); err != nil {
			return err
		}
		before, err := tx.GetPolicy(ctx, model)
		if err != nil {
			return err
		}
		if err := tx.PutPolicy(ctx, model, p); err != nil {
			return err
		}
		return s.audit(ctx, tx, "policy.update", modelResource(model), map[string]any{
			"before": policyDetails(before), "after": policyDetails(p)})
	})
	return p, err
}

func policyDetails(p Policy) map[string]any {
	return map[string]any{"required_approvals": p.RequiredApprovals, "required_tags": p.RequiredTags,
		"metric_gates": p.MetricGates, "protected_aliases": p.ProtectedAliases}
}

// SetAlias points an alias at a ready version, creating or moving it
// atomically. Protected aliases are moved by approvers only.
func (s *Service) SetAlias(ctx context.Context, model, alias string, number int) (Alias, *int, error) {
	if err := validateVersionRef(model, number); err != nil {
		return Alias{}, nil, err
	}
	if err := ValidateName("alias", alias); err != nil {
		return Alias{}, nil, err
	}
	a := Alias{Model: model, Name: alias, Version: number, UpdatedBy: actorName(ctx), UpdatedAt: s.Now()}
	var previous *int
	err := s.meta.InTx(ctx, func(tx MetaStore) error {
		if err := s.checkProtectedAlias(ctx, tx, model, alias); err != nil {
			return err
		}
		v, err := tx.GetVersion(ctx, model, number)
		if err != nil {
			return err
		}
		if v.Status != StatusReady {
			return Errorf(ErrConflict, "version %s/%d is %s: aliases point at ready versions", model, number, v.Status)
		}
		if previous, err = tx.SetAlias(ctx, a); err != nil {
			return err
		}
		return s.audit(ctx, tx, "alias.set", modelResource(model)+"/aliases/"+alias, map[string]any{
			"version": number, "previous_version": previous})
	})
	if errors.Is(err, ErrForbidden) {
		s.RecordDenied(ctx, "setAlias", modelResource(model)+"/aliases/"+alias, err.Error())
	}
	return a, previous, err
}

// checkProtectedAlias refuses non-approvers on the model's protected aliases.
func (s *Service) checkProtectedAlias(ctx context.Context, tx MetaStore, model, alias string) error {
	p, err := tx.GetPolicy(ctx, model)
	if err != nil {
		return err
	}
	if actor, _ := ActorFrom(ctx); slices.Contains(p.ProtectedAliases, alias) && !actor.HasAnyRole(RoleApprover) {
		return Errorf(ErrForbidden, "alias %q of model %q is protected: only approvers move it", alias, model)
	}
	return nil
}

// ResolveAlias returns the version an alias points at.
func (s *Service) ResolveAlias(ctx context.Context, model, alias string) (Version, error) {
	if err := ValidateName("model", model); err != nil {
		return Version{}, err
	}
	if err := ValidateName("alias", alias); err != nil {
		return Version{}, err
	}
	a, err := s.meta.GetAlias(ctx, model, alias)
	if err != nil {
		return Version{}, err
	}
	return s.meta.GetVersion(ctx, model, a.Version)
}

// DeleteAlias removes an alias (protected ones by approvers only).
func (s *Service) DeleteAlias(ctx context.Context, model, alias string) error {
	if err := ValidateName("model", model); err != nil {
		return err
	}
	if err := ValidateName("alias", alias); err != nil {
		return err
	}
	err := s.meta.InTx(ctx, func(tx MetaStore) error {
		if err := s.checkProtectedAlias(ctx, tx, model, alias); err != nil {
			return err
		}
		a, err := tx.GetAlias(ctx, model, alias)
		if err != nil {
			return err
		}
		if err := tx.DeleteAlias(ctx, model, alias); err != nil {
			return err
		}
		return s.audit(ctx, tx, "alias.delete", modelResource(model)+"/aliases/"+alias, map[string]any{"version": a.Version})
	})
	if errors.Is(err, ErrForbidden) {
		s.RecordDenied(ctx, "deleteAlias", modelResource(model)+"/aliases/"+alias, err.Error())
	}
	return err
}

// recordRefusal appends an audit event for a refused call (outcome
// "denied") in a transaction of its own.
func (s *Service) recordRefusal(ctx context.Context, action, resource string, details map[string]any) {
	raw, err := audit.CanonicalDetails(details)
	if err != nil {
		s.logger.WarnContext(ctx, "encode refusal details", "err", err)
		return
	}
	ri := RequestInfoFrom(ctx)
	err = s.meta.InTx(ctx, func(tx MetaStore) error {
		_, err := tx.AppendAudit(ctx, audit.Event{
			Time: s.Now(), Actor: actorName(ctx), Action: action, Resource: resource,
			Outcome: "denied", RequestID: ri.RequestID, RemoteAddr: ri.RemoteAddr, Details: raw,
		})
		return err
	})
	if err != nil {
		s.logger.WarnContext(ctx, "record refusal in the audit log", "err", err)
	}
}
