package compliance

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/modelcard"
)

// CardRef names a card: a model's (Version 0) or a version's.
type CardRef struct {
	Model   string
	Version int
}

func (r CardRef) resource() string {
	if r.Version == 0 {
		return modelkeep.ModelResource(r.Model) + "/card"
	}
	return modelkeep.VersionResource(r.Model, r.Version) + "/card"
}

// checkCardRef checks the names of a card and the caller's model scope.
func (s *Service) checkCardRef(ctx context.Context, ref CardRef, operation string) error {
	if err := modelkeep.ValidateName("model", ref.Model); err != nil {
		return err
	}
	if ref.Version < 0 || ref.Version > modelkeep.MaxVersionNumber {
		return modelkeep.Errorf(modelkeep.ErrInvalid, "version must be a number from 1 to %d", modelkeep.MaxVersionNumber)
	}
	return s.checkScope(ctx, ref.Model, operation, ref.resource())
}

// checkScope refuses a token restricted to other models, and records it.
func (s *Service) checkScope(ctx context.Context, model, operation, resource string) error {
	if a, ok := modelkeep.ActorFrom(ctx); ok && !a.CanAccessModel(model) {
		s.log.RecordDenied(ctx, operation, resource, "the token is not valid for this model")
		return modelkeep.Errorf(modelkeep.ErrForbidden, "the token is not valid for model %q", model)
	}
	return nil
}

// PutCard stores a new revision of a card. The card is checked (fields
// named in errors; placeholders are not answers), and each document it
// references must be registered: the reference is completed with the
// document's URI, version, title and media type. The old revisions stay.
func (s *Service) PutCard(ctx context.Context, ref CardRef, c modelcard.Card) (CardRevision, error) {
	if err := s.checkCardRef(ctx, ref, "putCard"); err != nil {
		return CardRevision{}, err
	}
	if err := modelcard.Validate(c); err != nil {
		return CardRevision{}, modelkeep.Errorf(modelkeep.ErrInvalid, "%w", err)
	}
	rev := CardRevision{Model: ref.Model, Version: ref.Version, Card: c, CreatedBy: modelkeep.ActorName(ctx), CreatedAt: s.clock()}
	err := s.store.InComplianceTx(ctx, func(tx Store) error {
		if ref.Version == 0 {
			if _, err := tx.GetModel(ctx, ref.Model); err != nil {
				return err
			}
		} else if _, err := tx.GetVersion(ctx, ref.Model, ref.Version); err != nil {
			return err
		}
		if err := completeDocRefs(ctx, tx, &rev.Card); err != nil {
			return err
		}
		n, err := tx.AddCardRevision(ctx, rev)
		if err != nil {
			return err
		}
		rev.Revision = n
		body, err := json.Marshal(rev.Card)
		if err != nil {
			return fmt.Errorf("encode card: %w", err)
		}
		sum := sha256.Sum256(body)
		seq, err := s.log.Record(ctx, tx, "card.update", ref.resource(), map[string]any{
			"revision": n, "sha256": hex.EncodeToString(sum[:]), "bytes": len(body)})
		if err != nil {
			return err
		}
		rev.AuditSeq = seq
		return tx.SetCardRevisionAuditSeq(ctx, ref.Model, ref.Version, n, seq)
	})
	if err != nil {
		return CardRevision{}, err
	}
	return rev, nil
}

// completeDocRefs checks that every document a card references is
// registered, and fills in what the registry knows of it.
func completeDocRefs(ctx context.Context, tx Store, c *modelcard.Card) error {
	for _, r := range modelcard.DocRefs(c) {
		d, err := tx.GetDocumentBySHA256(ctx, r.Ref.SHA256)
		if errors.Is(err, modelkeep.ErrNotFound) {
			return modelkeep.Errorf(modelkeep.ErrInvalid, "%s.sha256: no document with this SHA-256 is registered (POST /api/v1/documents)", r.Field)
		}
		if err != nil {
			return err
		}
		if r.Ref.Version != "" && r.Ref.Version != d.Version {
			return modelkeep.Errorf(modelkeep.ErrInvalid, "%s.version: document %s is version %q, not %q", r.Field, d.ID, d.Version, r.Ref.Version)
		}
		*r.Ref = DocRefOf(d)
	}
	return nil
}

// DocRefOf is the reference to a registered document.
func DocRefOf(d Document) modelcard.DocRef {
	return modelcard.DocRef{SHA256: d.SHA256, URI: "/api/v1/documents/" + d.ID, Version: d.Version, Title: d.Title, MediaType: d.MediaType}
}

// Card is the card in force for a model or a version: for a version, its
// own revision merged over the model's revision in force at the same time.
type Card struct {
	Ref CardRef
	// Card is the merged card.
	Card modelcard.Card
	// Revision is the card's own revision (0: none yet), ModelRevision the
	// model's merged under it (for a version's card).
	Revision      int
	ModelRevision int
	UpdatedBy     string
	UpdatedAt     time.Time
	// Own and Model describe the revisions merged (without their bodies;
	// zero when there is none at that level).
	Own, Model CardRevision
	// OwnApplicability is the applicability block of the own level's
	// revision alone: which answers it gave (the model gave the rest).
	OwnApplicability *modelcard.Applicability
}

// GetCard reads a card in force: the latest (revision 0) or revision n of
// the card's own level. A version's card is merged over the model's card
// as it was when that revision was made. A version or model without any
// card is an empty card with revision 0, not ErrNotFound.
func (s *Service) GetCard(ctx context.Context, ref CardRef, n int) (Card, error) {
	if err := s.checkCardRef(ctx, ref, "getCard"); err != nil {
		return Card{}, err
	}
	if n < 0 {
		return Card{}, modelkeep.Errorf(modelkeep.ErrInvalid, "revision must be at least 1")
	}
	if ref.Version == 0 {
		if _, err := s.store.GetModel(ctx, ref.Model); err != nil {
			return Card{}, err
		}
	} else if _, err := s.store.GetVersion(ctx, ref.Model, ref.Version); err != nil {
		return Card{}, err
	}
	return cardInForce(ctx, s.store, ref, n, time.Time{})
}

// cardReader is what reading a card in force needs.
type cardReader interface {
	GetCardRevision(ctx context.Context, model string, version, n int) (CardRevision, error)
	CardRevisionAt(ctx context.Context, model string, version int, t time.Time) (CardRevision, error)
}

// cardInForce merges a card from its revisions: revision n of ref's level
// (the latest when 0; or, when at is set, the latest made at or before
// at), over the model's revision in force when it was made.
func cardInForce(ctx context.Context, store cardReader, ref CardRef, n int, at time.Time) (Card, error) {
	out := Card{Ref: ref}
	var own CardRevision
	var err error
	if at.IsZero() {
		own, err = store.GetCardRevision(ctx, ref.Model, ref.Version, n)
	} else {
		own, err = store.CardRevisionAt(ctx, ref.Model, ref.Version, at)
	}
	switch {
	case errors.Is(err, modelkeep.ErrNotFound) && n == 0:
		// No card at this level: the model's alone (or nothing).
	case errors.Is(err, modelkeep.ErrNotFound):
		return Card{}, modelkeep.Errorf(modelkeep.ErrNotFound, "%s has no revision %d", ref.resource(), n)
	case err != nil:
		return Card{}, err
	default:
		out.Revision, out.UpdatedBy, out.UpdatedAt, out.Card = own.Revision, own.CreatedBy, own.CreatedAt, own.Card
		out.Own = own
		out.OwnApplicability = own.Card.Applicability
		out.Own.Card = modelcard.Card{}
	}
	if ref.Version == 0 {
		return out, nil
	}
	// The model's card as it was when the version's revision was made (or
	// now, or at the given time, when the version has none).
	when := at
	if out.Revision != 0 {
		when = out.UpdatedAt
	}
	var model CardRevision
	if when.IsZero() {
		model, err = store.GetCardRevision(ctx, ref.Model, 0, 0)
	} else {
		model, err = store.CardRevisionAt(ctx, ref.Model, 0, when)
	}
	switch {
	case errors.Is(err, modelkeep.ErrNotFound):
		return out, nil
	case err != nil:
		return Card{}, err
	}
	merged, err := modelcard.Merge(model.Card, out.Card)
	if err != nil {
		return Card{}, err
	}
	out.Card, out.ModelRevision = merged, model.Revision
	out.Model = model
	out.Model.Card = modelcard.Card{}
	if out.Revision == 0 {
		out.UpdatedBy, out.UpdatedAt = model.CreatedBy, model.CreatedAt
	}
	return out, nil
}

// ListCardRevisions lists a card's revisions, newest first.
func (s *Service) ListCardRevisions(ctx context.Context, ref CardRef) ([]CardRevision, error) {
	if err := s.checkCardRef(ctx, ref, "listCardRevisions"); err != nil {
		return nil, err
	}
	if ref.Version == 0 {
		if _, err := s.store.GetModel(ctx, ref.Model); err != nil {
			return nil, err
		}
	} else if _, err := s.store.GetVersion(ctx, ref.Model, ref.Version); err != nil {
		return nil, err
	}
	return s.store.ListCardRevisions(ctx, ref.Model, ref.Version)
}
