package compliance

import (
	"context"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/evidence"
	"github.com/modelkeep/modelkeep/modelcard"
)

// MaxJustificationLen bounds a not-applicable justification.
const MaxJustificationLen = 8 << 10

// ExemptionInput justifies a requirement row as not applicable to a model
// (Version 0) or one version. A row id may carry a qualifier for a part of
// the row, as in A15-5:model_poisoning (GUIDE §1.3).
type ExemptionInput struct {
	Model         string
	Version       int
	RowID         string
	Justification string
}

// checkRowID checks a row id, or a qualified one, against the catalogue.
func checkRowID(id string) error {
	row, qualifier, _ := strings.Cut(id, ":")
	if _, ok := evidence.MustLoad().Row(row); !ok {
		return modelkeep.Errorf(modelkeep.ErrInvalid, "%q is not a row of the requirement catalogue %s", clip(row), evidence.MustLoad().Version)
	}
	if !strings.Contains(id, ":") {
		return nil
	}
	// Only a part a rule names can be waived alone: another qualifier
	// would be recorded and change nothing.
	rule, _ := evidence.RuleFor(row)
	if parts := rule.Qualifiers(); !slices.Contains(parts, qualifier) {
		if len(parts) == 0 {
			return modelkeep.Errorf(modelkeep.ErrInvalid, "row %s has no parts to justify alone: justify the whole row", row)
		}
		return modelkeep.Errorf(modelkeep.ErrInvalid, "row %s has the parts %s, not %q", row, strings.Join(parts, ", "), clip(qualifier))
	}
	return nil
}

func exemptionResource(ref CardRef, row string) string {
	return strings.TrimSuffix(ref.resource(), "/card") + "/evidence/not-applicable/" + row
}

// PutExemption records that a requirement row does not apply, with a
// justification (not a placeholder), who gave it and when, in the audit
// log. It replaces an earlier justification of the same row at the same
// level.
func (s *Service) PutExemption(ctx context.Context, in ExemptionInput) (Exemption, error) {
	ref := CardRef{Model: in.Model, Version: in.Version}
	if err := s.checkCardRef(ctx, ref, "putNotApplicable"); err != nil {
		return Exemption{}, err
	}
	if err := checkRowID(in.RowID); err != nil {
		return Exemption{}, err
	}
	switch j := strings.TrimSpace(in.Justification); {
	case j == "" || modelcard.IsPlaceholder(j):
		return Exemption{}, modelkeep.Errorf(modelkeep.ErrInvalid, "justification: say why the row does not apply (a placeholder is not a justification)")
	case len(j) > MaxJustificationLen || !utf8.ValidString(j):
		return Exemption{}, modelkeep.Errorf(modelkeep.ErrInvalid, "justification: at most %d bytes of UTF-8 text", MaxJustificationLen)
	}
	e := Exemption{Model: in.Model, Version: in.Version, RowID: in.RowID, Justification: strings.TrimSpace(in.Justification),
		EnteredBy: modelkeep.ActorName(ctx), EnteredAt: s.clock()}
	err := s.store.InComplianceTx(ctx, func(tx Store) error {
		if in.Version == 0 {
			if _, err := tx.GetModel(ctx, in.Model); err != nil {
				return err
			}
		} else if _, err := tx.GetVersion(ctx, in.Model, in.Version); err != nil {
			return err
		}
		seq, err := s.log.Record(ctx, tx, "evidence.not_applicable", exemptionResource(ref, in.RowID), map[string]any{
			"row_id": e.RowID, "justification": e.Justification})
		if err != nil {
			return err
		}
		e.AuditSeq = seq
		return tx.PutExemption(ctx, e)
	})
	if err != nil {
		return Exemption{}, err
	}
	return e, nil
}

// DeleteExemption withdraws a justification: the row counts again.
func (s *Service) DeleteExemption(ctx context.Context, model string, version int, rowID string) error {
	ref := CardRef{Model: model, Version: version}
	if err := s.checkCardRef(ctx, ref, "deleteNotApplicable"); err != nil {
		return err
	}
	if err := checkRowID(rowID); err != nil {
		return err
	}
	return s.store.InComplianceTx(ctx, func(tx Store) error {
		if err := tx.DeleteExemption(ctx, model, version, rowID); err != nil {
			return err
		}
		err := s.log.RecordChange(ctx, tx, "evidence.not_applicable.withdraw", exemptionResource(ref, rowID), map[string]any{"row_id": rowID})
		return err
	})
}

// ListExemptions lists the justifications in force for a version (its own
// and its model's) or for a model (Version 0).
func (s *Service) ListExemptions(ctx context.Context, model string, version int) ([]Exemption, error) {
	ref := CardRef{Model: model, Version: version}
	if err := s.checkCardRef(ctx, ref, "listNotApplicable"); err != nil {
		return nil, err
	}
	if version == 0 {
		if _, err := s.store.GetModel(ctx, model); err != nil {
			return nil, err
		}
	} else if _, err := s.store.GetVersion(ctx, model, version); err != nil {
		return nil, err
	}
	return s.store.ListExemptions(ctx, model, version)
}
