package modelkeep

import (
	"context"
	"errors"
	"slices"
	"time"
)

// Alias is a named, movable pointer to one version of a model.
type Alias struct {
	Model     string
	Name      string
	Version   int
	UpdatedBy string
	UpdatedAt time.Time
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
	a := Alias{Model: model, Name: alias, Version: number, UpdatedBy: ActorName(ctx), UpdatedAt: s.Now()}
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
		return s.record(ctx, tx, "alias.set", ModelResource(model)+"/aliases/"+alias, map[string]any{
			"version": number, "previous_version": previous})
	})
	if errors.Is(err, ErrForbidden) {
		s.RecordDenied(ctx, "setAlias", ModelResource(model)+"/aliases/"+alias, err.Error())
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
		return s.record(ctx, tx, "alias.delete", ModelResource(model)+"/aliases/"+alias, map[string]any{"version": a.Version})
	})
	if errors.Is(err, ErrForbidden) {
		s.RecordDenied(ctx, "deleteAlias", ModelResource(model)+"/aliases/"+alias, err.Error())
	}
	return err
}
