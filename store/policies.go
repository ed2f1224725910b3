package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/modelkeep/modelkeep"
)

type policyRow struct {
	ModelID           int64     `gorm:"column:model_id;primaryKey;autoIncrement:false"`
	RequiredApprovals int       `gorm:"column:required_approvals"`
	RequiredTags      string    `gorm:"column:required_tags"`     // JSON object
	MetricGates       string    `gorm:"column:metric_gates"`      // JSON array of metricGateJSON
	ProtectedAliases  string    `gorm:"column:protected_aliases"` // JSON array
	RequireEvidence   bool      `gorm:"column:require_evidence"`
	UpdatedBy         string    `gorm:"column:updated_by"`
	UpdatedAt         time.Time `gorm:"column:updated_at;autoUpdateTime:false"`
}

func (policyRow) TableName() string { return "policies" }

// metricGateJSON is how a MetricGate is stored (see datasetJSON for why not
// the domain type).
type metricGateJSON struct {
	Key       string  `json:"key"`
	Op        string  `json:"op"`
	Threshold float64 `json:"threshold"`
	Dataset   string  `json:"dataset,omitempty"`
	Split     string  `json:"split,omitempty"`
}

// defaultPolicy is the policy of a model that has none: one approval, no
// gates. Collections are empty rather than nil, as for a stored policy.
func defaultPolicy() modelkeep.Policy {
	return modelkeep.Policy{
		RequiredApprovals: 1,
		RequiredTags:      map[string]string{},
		MetricGates:       []modelkeep.MetricGate{},
		ProtectedAliases:  []string{},
	}
}

// GetPolicy returns the model's policy, or the default (RequiredApprovals 1,
// nothing else) when none was put. ErrNotFound when the model does not exist.
func (s *Store) GetPolicy(ctx context.Context, model string) (modelkeep.Policy, error) {
	db := s.db.WithContext(ctx)
	modelID, err := s.modelID(ctx, model)
	if err != nil {
		return modelkeep.Policy{}, err
	}
	var row policyRow
	err = db.Where("model_id = ?", modelID).Take(&row).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return defaultPolicy(), nil
	case err != nil:
		return modelkeep.Policy{}, dbErr(fmt.Sprintf("get policy of model %q", model), err)
	}
	return toPolicy(model, row)
}

func toPolicy(model string, r policyRow) (modelkeep.Policy, error) {
	p := defaultPolicy()
	p.RequiredApprovals, p.UpdatedBy, p.UpdatedAt = r.RequiredApprovals, r.UpdatedBy, r.UpdatedAt.UTC()
	p.RequireEvidence = r.RequireEvidence
	var err error
	if p.RequiredTags, err = decodeMap(r.RequiredTags); err != nil {
		return modelkeep.Policy{}, fmt.Errorf("decode required tags of model %q: %w", model, err)
	}
	var gates []metricGateJSON
	if err := json.Unmarshal([]byte(r.MetricGates), &gates); err != nil {
		return modelkeep.Policy{}, fmt.Errorf("decode metric gates of model %q: %w", model, err)
	}
	for _, g := range gates {
		p.MetricGates = append(p.MetricGates, modelkeep.MetricGate(g))
	}
	aliases, err := decodeList(r.ProtectedAliases)
	if err != nil {
		return modelkeep.Policy{}, fmt.Errorf("decode protected aliases of model %q: %w", model, err)
	}
	p.ProtectedAliases = append(p.ProtectedAliases, aliases...)
	return p, nil
}

// PutPolicy replaces the model's policy (an upsert on model_id). A zero
// UpdatedAt is the store's clock. The store keeps p as given: the domain
// validates it (Policy.Validate). ErrNotFound when the model does not exist.
func (s *Store) PutPolicy(ctx context.Context, model string, p modelkeep.Policy) error {
	db := s.db.WithContext(ctx)
	tags, err := encodeMap(p.RequiredTags)
	if err != nil {
		return fmt.Errorf("put policy of model %q: encode required tags: %w", model, err)
	}
	gs := make([]metricGateJSON, len(p.MetricGates))
	for i, g := range p.MetricGates {
		gs[i] = metricGateJSON(g)
	}
	gates, err := json.Marshal(gs)
	if err != nil {
		return fmt.Errorf("put policy of model %q: encode metric gates: %w", model, err)
	}
	aliases, err := encodeList(p.ProtectedAliases)
	if err != nil {
		return fmt.Errorf("put policy of model %q: encode protected aliases: %w", model, err)
	}
	modelID, err := s.modelID(ctx, model)
	if err != nil {
		return err
	}
	row := policyRow{
		ModelID:           modelID,
		RequiredApprovals: p.RequiredApprovals,
		RequiredTags:      tags,
		MetricGates:       string(gates),
		ProtectedAliases:  aliases,
		RequireEvidence:   p.RequireEvidence,
		UpdatedBy:         p.UpdatedBy,
		UpdatedAt:         s.orNow(p.UpdatedAt),
	}
	err = db.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "model_id"}}, UpdateAll: true}).Create(&row).Error
	if err != nil {
		if errors.Is(err, gorm.ErrForeignKeyViolated) {
			// The model went between modelID and the insert.
			return modelkeep.Errorf(modelkeep.ErrNotFound, "model %q not found", model)
		}
		return dbErr(fmt.Sprintf("put policy of model %q", model), err)
	}
	return nil
}
