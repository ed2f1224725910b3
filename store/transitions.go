package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/modelkeep/modelkeep"
)

type transitionRow struct {
	ID                string     `gorm:"column:id;primaryKey"`
	ModelID           int64      `gorm:"column:model_id"`
	VersionID         int64      `gorm:"column:version_id"`
	FromStage         string     `gorm:"column:from_stage"`
	ToStage           string     `gorm:"column:to_stage"`
	Status            string     `gorm:"column:status"`
	Comment           string     `gorm:"column:comment"`
	RequestedBy       string     `gorm:"column:requested_by"`
	RequestedAt       time.Time  `gorm:"column:requested_at"`
	ManifestDigest    string     `gorm:"column:manifest_digest"`
	RequiredApprovals int        `gorm:"column:required_approvals"`
	DecidedBy         string     `gorm:"column:decided_by"`
	DecidedAt         *time.Time `gorm:"column:decided_at"`
	DecisionComment   string     `gorm:"column:decision_comment"`
}

func (transitionRow) TableName() string { return "transitions" }

// transitionView is a transition row with the names the domain uses for its
// model and version, read with a join.
type transitionView struct {
	Row           transitionRow `gorm:"embedded"` // exported: GORM skips unexported fields
	ModelName     string        `gorm:"column:model_name"`
	VersionNumber int           `gorm:"column:version_number"`
}

type approvalRow struct {
	ID           int64     `gorm:"column:id;primaryKey"`
	TransitionID string    `gorm:"column:transition_id"`
	Approver     string    `gorm:"column:approver"`
	Comment      string    `gorm:"column:comment"`
	At           time.Time `gorm:"column:at"`
	Gates        string    `gorm:"column:gates"` // JSON array of gateJSON
}

func (approvalRow) TableName() string { return "approvals" }

// gateJSON is how a GateResult is stored (see datasetJSON for why not the
// domain type).
type gateJSON struct {
	Gate   string `json:"gate"`
	Passed bool   `json:"passed"`
	Detail string `json:"detail,omitempty"`
}

func toTransition(v transitionView, approvals []modelkeep.Approval) modelkeep.Transition {
	r := v.Row
	if approvals == nil {
		approvals = []modelkeep.Approval{}
	}
	t := modelkeep.Transition{
		ID:                r.ID,
		Model:             v.ModelName,
		Version:           v.VersionNumber,
		From:              modelkeep.Stage(r.FromStage),
		To:                modelkeep.Stage(r.ToStage),
		Status:            modelkeep.TransitionStatus(r.Status),
		Comment:           r.Comment,
		RequestedBy:       r.RequestedBy,
		RequestedAt:       r.RequestedAt.UTC(),
		ManifestDigest:    r.ManifestDigest,
		RequiredApprovals: r.RequiredApprovals,
		Approvals:         approvals,
		DecidedBy:         r.DecidedBy,
		DecisionComment:   r.DecisionComment,
	}
	if r.DecidedAt != nil {
		at := r.DecidedAt.UTC()
		t.DecidedAt = &at
	}
	return t
}

// transitions starts a query of transitionViews.
func (s *Store) transitions(ctx context.Context) *gorm.DB {
	db := s.db.WithContext(ctx)
	return db.Table("transitions").
		Select("transitions.*, models.name AS model_name, versions.number AS version_number").
		Joins("JOIN models ON models.id = transitions.model_id").
		Joins("JOIN versions ON versions.id = transitions.version_id")
}

// CreateTransition stores t for version t.Version of t.Model, with its
// approvals if it has any. An empty Status is pending, a zero RequestedAt the
// store's clock. ErrNotFound when the version does not exist, ErrConflict
// when the id does.
func (s *Store) CreateTransition(ctx context.Context, t modelkeep.Transition) error {
	status := t.Status
	if status == "" {
		status = modelkeep.TransitionPending
	}
	row := transitionRow{
		ID:                t.ID,
		FromStage:         string(t.From),
		ToStage:           string(t.To),
		Status:            string(status),
		Comment:           t.Comment,
		RequestedBy:       t.RequestedBy,
		RequestedAt:       s.orNow(t.RequestedAt),
		ManifestDigest:    t.ManifestDigest,
		RequiredApprovals: t.RequiredApprovals,
		DecidedBy:         t.DecidedBy,
		DecisionComment:   t.DecisionComment,
	}
	if t.DecidedAt != nil {
		at := utc(*t.DecidedAt)
		row.DecidedAt = &at
	}
	return s.inTxStore(ctx, func(tx *Store) error {
		db := tx.db.WithContext(ctx)
		v, err := tx.versionRowOf(ctx, t.Model, t.Version)
		if err != nil {
			return err
		}
		row.ModelID, row.VersionID = v.ModelID, v.ID
		if err := db.Create(&row).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return modelkeep.Errorf(modelkeep.ErrConflict, "transition %q already exists", t.ID)
			}
			return dbErr(fmt.Sprintf("create transition of version %s/%d", t.Model, t.Version), err)
		}
		for _, a := range t.Approvals {
			if err := tx.AddApproval(ctx, t.ID, a); err != nil {
				return err
			}
		}
		return nil
	})
}

// GetTransition reads a transition with its approvals, oldest first.
func (s *Store) GetTransition(ctx context.Context, id string) (modelkeep.Transition, error) {
	var v transitionView
	if err := s.transitions(ctx).Where("transitions.id = ?", id).Take(&v).Error; err != nil {
		return modelkeep.Transition{}, notFound("get transition", err, "transition %q not found", id)
	}
	approvals, err := s.approvalsOf(ctx, id)
	if err != nil {
		return modelkeep.Transition{}, err
	}
	return toTransition(v, approvals[id]), nil
}

// ListTransitions returns up to f.Limit transitions (all when Limit <= 0)
// with their approvals, newest first (by requested_at, then id), filtered by
// model and status when set, before the keyset (f.BeforeRequestedAt,
// f.BeforeID) when BeforeRequestedAt is set. ErrNotFound when f.Model names
// no model.
func (s *Store) ListTransitions(ctx context.Context, f modelkeep.TransitionFilter) ([]modelkeep.Transition, error) {
	q := s.transitions(ctx)
	if f.Model != "" {
		modelID, err := s.modelID(ctx, f.Model)
		if err != nil {
			return nil, err
		}
		q = q.Where("transitions.model_id = ?", modelID)
		if f.Version != 0 {
			q = q.Where("versions.number = ?", f.Version)
		}
	}
	if f.Status != "" {
		q = q.Where("transitions.status = ?", string(f.Status))
	}
	q = newestFirst(q, "transitions.requested_at", "transitions.id", f.BeforeRequestedAt, f.BeforeID, f.Limit)
	var views []transitionView
	if err := q.Find(&views).Error; err != nil {
		return nil, dbErr("list transitions", err)
	}
	ids := make([]string, len(views))
	for i, v := range views {
		ids[i] = v.Row.ID
	}
	approvals, err := s.approvalsOf(ctx, ids...)
	if err != nil {
		return nil, err
	}
	out := make([]modelkeep.Transition, len(views))
	for i, v := range views {
		out[i] = toTransition(v, approvals[v.Row.ID])
	}
	return out, nil
}

// approvalsOf returns the approvals of the given transitions, oldest first,
// by transition id.
func (s *Store) approvalsOf(ctx context.Context, transitionIDs ...string) (map[string][]modelkeep.Approval, error) {
	db := s.db.WithContext(ctx)
	out := map[string][]modelkeep.Approval{}
	if len(transitionIDs) == 0 {
		return out, nil
	}
	var rows []approvalRow
	if err := db.Where("transition_id IN ?", transitionIDs).Order("at, id").Find(&rows).Error; err != nil {
		return nil, dbErr("read approvals", err)
	}
	for _, r := range rows {
		var gs []gateJSON
		if err := json.Unmarshal([]byte(r.Gates), &gs); err != nil {
			return nil, fmt.Errorf("decode gates of approval by %q of transition %q: %w", r.Approver, r.TransitionID, err)
		}
		gates := make([]modelkeep.GateResult, len(gs))
		for i, g := range gs {
			gates[i] = modelkeep.GateResult(g)
		}
		out[r.TransitionID] = append(out[r.TransitionID], modelkeep.Approval{
			Approver: r.Approver, Comment: r.Comment, At: r.At.UTC(), Gates: gates,
		})
	}
	return out, nil
}

// AddApproval records a's approval of a transition (a zero At is the store's
// clock). The unique key on (transition, approver) makes a second approval
// by the same approver ErrConflict even when two race; ErrNotFound when the
// transition does not exist. It does not check that the transition is still
// pending: the caller does, before deciding it.
func (s *Store) AddApproval(ctx context.Context, transitionID string, a modelkeep.Approval) error {
	db := s.db.WithContext(ctx)
	gs := make([]gateJSON, len(a.Gates))
	for i, g := range a.Gates {
		gs[i] = gateJSON(g)
	}
	gates, err := json.Marshal(gs)
	if err != nil {
		return fmt.Errorf("add approval to transition %q: encode gates: %w", transitionID, err)
	}
	row := approvalRow{TransitionID: transitionID, Approver: a.Approver, Comment: a.Comment, At: s.orNow(a.At), Gates: string(gates)}
	err = db.Create(&row).Error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return modelkeep.Errorf(modelkeep.ErrConflict, "%s approved transition %q already", a.Approver, transitionID)
	case errors.Is(err, gorm.ErrForeignKeyViolated):
		return modelkeep.Errorf(modelkeep.ErrNotFound, "transition %q not found", transitionID)
	}
	return dbErr(fmt.Sprintf("add approval to transition %q", transitionID), err)
}

// DecideTransition closes a pending transition as approved or rejected, as a
// compare-and-swap on status = 'pending': ErrConflict when it was decided
// already (by a concurrent call, say), ErrNotFound when it does not exist,
// ErrInvalid for a status other than approved or rejected.
func (s *Store) DecideTransition(ctx context.Context, id string, status modelkeep.TransitionStatus, by, comment string, at time.Time) error {
	db := s.db.WithContext(ctx)
	if status != modelkeep.TransitionApproved && status != modelkeep.TransitionRejected {
		return modelkeep.Errorf(modelkeep.ErrInvalid, "a transition is decided as approved or rejected, not %q", status)
	}
	res := db.Model(&transitionRow{}).
		Where("id = ? AND status = ?", id, string(modelkeep.TransitionPending)).
		Updates(map[string]any{
			"status":           string(status),
			"decided_by":       by,
			"decided_at":       s.orNow(at),
			"decision_comment": comment,
		})
	if res.Error != nil {
		return dbErr(fmt.Sprintf("decide transition %q", id), res.Error)
	}
	if res.RowsAffected == 0 {
		var row transitionRow
		if err := db.Select("status").Where("id = ?", id).Take(&row).Error; err != nil {
			return notFound("decide transition", err, "transition %q not found", id)
		}
		return modelkeep.Errorf(modelkeep.ErrConflict, "transition %q is %s already", id, row.Status)
	}
	return nil
}
