package modelkeep

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Policy governs a model's promotions.
type Policy struct {
	// RequiredApprovals is the number of distinct approvers a move into
	// production needs (at least 1).
	RequiredApprovals int
	// RequiredTags must be set on a version (with this value, when not "")
	// before it can be approved into production.
	RequiredTags map[string]string
	MetricGates  []MetricGate
	// ProtectedAliases may be moved by approvers (and admins) only.
	ProtectedAliases []string
	// RequireEvidence holds an approval into production until the version's
	// EU AI Act evidence covers every applicable requirement (EvidenceGate).
	RequireEvidence bool
	UpdatedBy       string
	UpdatedAt       time.Time
}

// Validate checks a policy's values.
func (p Policy) Validate() error {
	if p.RequiredApprovals < 1 || p.RequiredApprovals > 10 {
		return Errorf(ErrInvalid, "required_approvals must be between 1 and 10")
	}
	if err := ValidateTags("required_tags", p.RequiredTags, MaxTags, MaxTagValueLen); err != nil {
		return err
	}
	for i, g := range p.MetricGates {
		if err := ValidateMetricKey(fmt.Sprintf("metric_gates[%d].key", i), g.Key); err != nil {
			return err
		}
		if !slices.Contains(gateOps, g.Op) {
			return Errorf(ErrInvalid, "metric_gates[%d]: op %q: want one of %s", i, g.Op, strings.Join(gateOps, " "))
		}
		if math.IsNaN(g.Threshold) || math.IsInf(g.Threshold, 0) {
			return Errorf(ErrInvalid, "metric_gates[%d]: threshold must be a finite number", i)
		}
	}
	for _, a := range p.ProtectedAliases {
		if err := ValidateName("alias", a); err != nil {
			return err
		}
	}
	return nil
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
	p.UpdatedBy, p.UpdatedAt = ActorName(ctx), s.Now()
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
		return s.record(ctx, tx, "policy.update", ModelResource(model), map[string]any{
			"before": policyDetails(before), "after": policyDetails(p)})
	})
	return p, err
}

func policyDetails(p Policy) map[string]any {
	return map[string]any{"required_approvals": p.RequiredApprovals, "required_tags": p.RequiredTags,
		"metric_gates": p.MetricGates, "protected_aliases": p.ProtectedAliases, "require_evidence": p.RequireEvidence}
}
