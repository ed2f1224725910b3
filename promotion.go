package modelkeep

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// TransitionStatus is where a stage transition request stands.
type TransitionStatus string

const (
	TransitionPending  TransitionStatus = "pending"
	TransitionApproved TransitionStatus = "approved" // approved and executed
	TransitionRejected TransitionStatus = "rejected"
)

// Transition is a request to move a version to another stage. It is bound
// to the version's manifest digest: what was approved is what moves.
type Transition struct {
	ID             string
	Model          string
	Version        int
	From           Stage // the stage when requested
	To             Stage
	Status         TransitionStatus
	Comment        string
	RequestedBy    string
	RequestedAt    time.Time
	ManifestDigest string
	// RequiredApprovals is the model's policy when the request was made.
	RequiredApprovals int
	Approvals         []Approval
	// DecidedBy/DecidedAt/DecisionComment record the approval that executed
	// the transition, or the rejection.
	DecidedBy       string
	DecidedAt       *time.Time
	DecisionComment string
}

// Approval is one approver's yes to a transition, with the promotion gates
// as they were evaluated at that moment.
type Approval struct {
	Approver string
	Comment  string
	At       time.Time
	Gates    []GateResult
}

// The promotion rules, as pure functions of the records they govern; the
// use cases below apply them (promotion_test.go has a case for each).

// CheckTransitionTarget is the first half of the stage-move rule: a
// transition goes to staging, production or archived (never back to none).
func CheckTransitionTarget(to Stage) error {
	if to != StageStaging && to != StageProduction && to != StageArchived {
		return Errorf(ErrInvalid, "a transition goes to staging, production or archived, not %q", to)
	}
	return nil
}

// CheckStageMove is the stage-move rule: only a ready version changes
// stage, to a stage CheckTransitionTarget allows, other than the one it is
// in.
func CheckStageMove(v Version, to Stage) error {
	if err := CheckTransitionTarget(to); err != nil {
		return err
	}
	if v.Status != StatusReady {
		return Errorf(ErrConflict, "version %s/%d is %s: only ready versions change stage", v.Model, v.Number, v.Status)
	}
	if v.Stage == to {
		return Errorf(ErrConflict, "version %s/%d is already in %s", v.Model, v.Number, to)
	}
	return nil
}

// CheckFourEyes is the four-eyes rule: a move into production is approved
// only by someone who neither requested it nor created the version. Moves
// to other stages need no second person.
func CheckFourEyes(approver string, t Transition, v Version) error {
	switch {
	case t.To != StageProduction:
		return nil
	case approver == t.RequestedBy:
		return Errorf(ErrForbidden, "four eyes: %s requested this transition and cannot approve it", approver)
	case approver == v.CreatedBy:
		return Errorf(ErrForbidden, "four eyes: %s created version %d and cannot approve its way to production", approver, v.Number)
	}
	return nil
}

// RequiredApprovals is the approval count rule: a move into production
// needs the policy's number of distinct approvers, any other move one.
func RequiredApprovals(to Stage, p Policy) int {
	if to == StageProduction {
		return p.RequiredApprovals
	}
	return 1
}

// CheckNewApprover keeps approvers distinct: each counts once per
// transition.
func CheckNewApprover(t Transition, approver string) error {
	if slices.ContainsFunc(t.Approvals, func(a Approval) bool { return a.Approver == approver }) {
		return Errorf(ErrConflict, "%s approved transition %s already: approvals must come from distinct approvers", approver, t.ID)
	}
	return nil
}

// Approved reports whether n distinct approvals meet the count the
// transition was requested with, so that it executes.
func (t Transition) Approved(n int) bool { return n >= t.RequiredApprovals }

func transitionResource(id string) string { return "transitions/" + id }

// validateComment checks the comment of a request, approval or rejection.
// It is optional everywhere: the decision itself, who made it and when are
// what the record needs; `{}` approves.
func validateComment(c string) error {
	if len(c) > MaxDescriptionLen {
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
	if err := CheckTransitionTarget(to); err != nil {
		return Transition{}, err
	}
	if err := validateComment(comment); err != nil {
		return Transition{}, err
	}
	actor, _ := ActorFrom(ctx)
	var id string
	err := s.meta.InTx(ctx, func(tx MetaStore) error {
		v, err := tx.GetVersion(ctx, model, number)
		if err != nil {
			return err
		}
		if err := CheckStageMove(v, to); err != nil {
			return err
		}
		var p Policy
		if to == StageProduction {
			if p, err = tx.GetPolicy(ctx, model); err != nil {
				return err
			}
		}
		required := RequiredApprovals(to, p)
		t := Transition{
			ID: randomID(), Model: model, Version: number, From: v.Stage, To: to, Status: TransitionPending,
			Comment: comment, RequestedBy: ActorName(ctx), RequestedAt: s.Now(),
			ManifestDigest: v.ManifestDigest, RequiredApprovals: required,
		}
		if err := tx.CreateTransition(ctx, t); err != nil {
			return err
		}
		id = t.ID
		if err := s.record(ctx, tx, "transition.request", transitionResource(t.ID), map[string]any{
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
	if err := CheckStageMove(v, t.To); err != nil {
		return err
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
			if err := s.record(ctx, tx, "version.stage", VersionResource(t.Model, old.Number), map[string]any{
				"from": StageProduction, "to": StageArchived, "because": fmt.Sprintf("version %d entered production", t.Version),
				"transition": t.ID}); err != nil {
				return err
			}
		}
	}
	if err := tx.SetStage(ctx, t.Model, t.Version, v.Stage, t.To, now); err != nil {
		return err
	}
	if err := tx.DecideTransition(ctx, t.ID, TransitionApproved, ActorName(ctx), comment, now); err != nil {
		return err
	}
	return s.record(ctx, tx, "version.stage", VersionResource(t.Model, t.Version), map[string]any{
		"from": v.Stage, "to": t.To, "transition": t.ID, "manifest_digest": t.ManifestDigest})
}

// ApproveTransition adds the caller's approval and executes the transition
// once it has enough. Into production: four eyes (the approver is neither the
// requester nor the version's creator) and the model's promotion gates.
func (s *Service) ApproveTransition(ctx context.Context, id, comment string) (Transition, error) {
	if err := validateComment(comment); err != nil {
		return Transition{}, err
	}
	actor, _ := ActorFrom(ctx)
	approver := ActorName(ctx)
	var gateErr *GateError
	var evidenceErr error
	err := s.meta.InTx(ctx, func(tx MetaStore) error {
		t, err := pendingTransition(ctx, tx, actor, id)
		if err != nil {
			return err
		}
		v, err := tx.GetVersion(ctx, t.Model, t.Version)
		if err != nil {
			return err
		}
		if err := CheckFourEyes(approver, t, v); err != nil {
			return err
		}
		var gates []GateResult
		if t.To == StageProduction {
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
			if p.RequireEvidence {
				if evidenceErr = s.checkEvidence(ctx, tx, v); evidenceErr != nil {
					return evidenceErr
				}
			}
		}
		if err := CheckNewApprover(t, approver); err != nil {
			return err
		}
		if err := tx.AddApproval(ctx, id, Approval{Approver: approver, Comment: comment, At: s.Now(), Gates: gates}); err != nil {
			return err
		}
		if err := s.record(ctx, tx, "transition.approve", transitionResource(id), map[string]any{
			"model": t.Model, "version": t.Version, "to": t.To, "comment": comment, "gates": gates,
			"approvals": len(t.Approvals) + 1, "required_approvals": t.RequiredApprovals}); err != nil {
			return err
		}
		if !t.Approved(len(t.Approvals) + 1) {
			return nil
		}
		return s.execute(ctx, tx, t, comment)
	})
	var missing *EvidenceError
	switch {
	case gateErr != nil:
		details := map[string]any{"gates": gateErr.Results}
		s.recordRefusal(ctx, "transition.approve.refused", transitionResource(id), details)
	case errors.As(evidenceErr, &missing):
		s.recordRefusal(ctx, "transition.approve.refused", transitionResource(id), map[string]any{"missing_evidence": missing.Missing})
	case errors.Is(err, ErrForbidden):
		s.RecordDenied(ctx, "approveTransition", transitionResource(id), err.Error())
	}
	if err != nil {
		return Transition{}, err
	}
	return s.meta.GetTransition(ctx, id)
}

// EvidenceGate tells which EU AI Act requirement rows a version's evidence
// does not cover yet (package compliance answers it). A policy with
// RequireEvidence holds approvals into production until none is missing.
type EvidenceGate interface {
	// MissingEvidence returns the ids of the applicable requirement rows
	// that are neither present nor justified as not applicable, read in tx.
	MissingEvidence(ctx context.Context, tx MetaStore, v Version) ([]string, error)
}

// EvidenceError is the refusal of an approval into production whose
// version's evidence misses requirement rows (412).
type EvidenceError struct {
	Missing []string
}

func (e *EvidenceError) Error() string {
	const shown = 20
	ids := e.Missing
	more := ""
	if len(ids) > shown {
		ids, more = ids[:shown], fmt.Sprintf(" and %d more", len(e.Missing)-shown)
	}
	return fmt.Sprintf("the EU AI Act evidence of this version is incomplete: %d requirement rows are missing (%s%s); see .../evidence/coverage",
		len(e.Missing), strings.Join(ids, ", "), more)
}

func (e *EvidenceError) Unwrap() error { return ErrPrecondition }

// checkEvidence is the evidence gate of a production approval.
func (s *Service) checkEvidence(ctx context.Context, tx MetaStore, v Version) error {
	if s.evidence == nil {
		return Errorf(ErrPrecondition, "the policy requires evidence, but this server has no evidence gate")
	}
	missing, err := s.evidence.MissingEvidence(ctx, tx, v)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		return &EvidenceError{Missing: missing}
	}
	return nil
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
	if err := validateComment(comment); err != nil {
		return Transition{}, err
	}
	actor, _ := ActorFrom(ctx)
	err := s.meta.InTx(ctx, func(tx MetaStore) error {
		t, err := pendingTransition(ctx, tx, actor, id)
		if err != nil {
			return err
		}
		if err := tx.DecideTransition(ctx, id, TransitionRejected, ActorName(ctx), comment, s.Now()); err != nil {
			return err
		}
		return s.record(ctx, tx, "transition.reject", transitionResource(id), map[string]any{
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
	pg, before, beforeID, err := s.pager.startTimed(NewListing("listTransitions", in.Model, in.Status), in.PageSize, in.PageToken)
	if err != nil {
		return nil, "", err
	}
	ts, err := s.meta.ListTransitions(ctx, TransitionFilter{
		Model: in.Model, Status: TransitionStatus(in.Status),
		BeforeRequestedAt: before, BeforeID: beforeID, Limit: pg.limit + 1,
	})
	if err != nil {
		return nil, "", err
	}
	ts, next := endPage(pg, ts, func(t Transition) pageCursor {
		return pageCursor{Name: t.ID, Time: t.RequestedAt.UnixMicro()}
	})
	return ts, next, nil
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

// TransitionReview is what an approver looks at before deciding a pending
// transition: the version's creator (four eyes), the promotion gates as
// they stand now, the evidence rows still missing when the policy requires
// evidence, and why the caller could not approve it, if so.
type TransitionReview struct {
	VersionCreatedBy string
	Gates            []GateResult // moves into production only
	MissingEvidence  []string     // when the policy requires evidence
	// ApproveBlocked is why the caller's approval would be refused by the
	// rules of the transition itself (four eyes, already approved); ""
	// when it would not. Roles and scopes are the caller's to check.
	ApproveBlocked string
}

// ReviewTransitions reviews each pending transition of ts for the caller:
// the same rules ApproveTransition applies, evaluated without deciding.
// Decided transitions get no review.
func (s *Service) ReviewTransitions(ctx context.Context, ts []Transition) (map[string]TransitionReview, error) {
	out := map[string]TransitionReview{}
	policies := map[string]Policy{}
	caller := ActorName(ctx)
	for _, t := range ts {
		if t.Status != TransitionPending {
			continue
		}
		v, err := s.meta.GetVersion(ctx, t.Model, t.Version)
		if err != nil {
			return nil, err
		}
		r := TransitionReview{VersionCreatedBy: v.CreatedBy}
		if err := CheckFourEyes(caller, t, v); err != nil {
			r.ApproveBlocked = err.Error()
		} else if err := CheckNewApprover(t, caller); err != nil {
			r.ApproveBlocked = err.Error()
		}
		if t.To == StageProduction {
			p, ok := policies[t.Model]
			if !ok {
				if p, err = s.meta.GetPolicy(ctx, t.Model); err != nil {
					return nil, err
				}
				policies[t.Model] = p
			}
			metrics, err := s.meta.ListMetricsPage(ctx, MetricFilter{Model: t.Model, Number: t.Version})
			if err != nil {
				return nil, err
			}
			r.Gates = EvaluateGates(p, v, metrics)
			if p.RequireEvidence && s.evidence != nil {
				if r.MissingEvidence, err = s.evidence.MissingEvidence(ctx, s.meta, v); err != nil {
					return nil, err
				}
			}
		}
		out[t.ID] = r
	}
	return out, nil
}
