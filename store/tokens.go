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

type tokenRow struct {
	ID        string     `gorm:"column:id;primaryKey"`
	Subject   string     `gorm:"column:subject"`
	Roles     string     `gorm:"column:roles"`  // JSON array
	Models    string     `gorm:"column:models"` // JSON array
	CreatedBy string     `gorm:"column:created_by"`
	CreatedAt time.Time  `gorm:"column:created_at;autoCreateTime:false"`
	ExpiresAt time.Time  `gorm:"column:expires_at"`
	RevokedAt *time.Time `gorm:"column:revoked_at"`
}

func (tokenRow) TableName() string { return "tokens" }

func encodeList(l []string) (string, error) {
	if l == nil {
		l = []string{}
	}
	b, err := json.Marshal(l)
	return string(b), err
}

func decodeList(s string) ([]string, error) {
	var l []string
	if err := json.Unmarshal([]byte(s), &l); err != nil {
		return nil, err
	}
	return l, nil
}

func toToken(r tokenRow) (modelkeep.Token, error) {
	roles, err := decodeList(r.Roles)
	if err != nil {
		return modelkeep.Token{}, fmt.Errorf("decode roles of token %s: %w", r.ID, err)
	}
	models, err := decodeList(r.Models)
	if err != nil {
		return modelkeep.Token{}, fmt.Errorf("decode models of token %s: %w", r.ID, err)
	}
	t := modelkeep.Token{
		ID: r.ID, Subject: r.Subject, Roles: roles, Models: models, CreatedBy: r.CreatedBy,
		CreatedAt: r.CreatedAt.UTC(), ExpiresAt: r.ExpiresAt.UTC(),
	}
	if r.RevokedAt != nil {
		at := r.RevokedAt.UTC()
		t.RevokedAt = &at
	}
	return t, nil
}

// CreateToken stores a token record; ErrConflict if the id exists.
func (s *Store) CreateToken(ctx context.Context, t modelkeep.Token) error {
	roles, err := encodeList(t.Roles)
	if err != nil {
		return fmt.Errorf("create token: encode roles: %w", err)
	}
	models, err := encodeList(t.Models)
	if err != nil {
		return fmt.Errorf("create token: encode models: %w", err)
	}
	row := tokenRow{
		ID: t.ID, Subject: t.Subject, Roles: roles, Models: models, CreatedBy: t.CreatedBy,
		CreatedAt: s.orNow(t.CreatedAt), ExpiresAt: utc(t.ExpiresAt),
	}
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return modelkeep.Errorf(modelkeep.ErrConflict, "token %s already exists", t.ID)
		}
		return dbErr("create token", err)
	}
	return nil
}

// GetToken reads one token record by id (the jti).
func (s *Store) GetToken(ctx context.Context, id string) (modelkeep.Token, error) {
	var row tokenRow
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error
	if err != nil {
		return modelkeep.Token{}, notFound("get token", err, "token %q not found", id)
	}
	return toToken(row)
}

// ListTokens returns up to f.Limit token records, newest first.
func (s *Store) ListTokens(ctx context.Context, f modelkeep.TokenFilter) ([]modelkeep.Token, error) {
	q := s.db.WithContext(ctx).Model(&tokenRow{})
	if !f.IncludeRevoked {
		q = q.Where("revoked_at IS NULL")
	}
	q = newestFirst(q, "created_at", "id", f.BeforeCreatedAt, f.BeforeID, f.Limit)
	return findAllDecoded(q, "list tokens", toToken)
}

// RevokeToken marks a token revoked at at. Revoking a revoked token keeps
// the first revocation time; ErrNotFound when there is no such token.
func (s *Store) RevokeToken(ctx context.Context, id string, at time.Time) error {
	db := s.db.WithContext(ctx)
	res := db.Model(&tokenRow{}).Where("id = ? AND revoked_at IS NULL", id).Update("revoked_at", utc(at))
	if res.Error != nil {
		return dbErr("revoke token", res.Error)
	}
	if res.RowsAffected == 1 {
		return nil
	}
	_, err := s.GetToken(ctx, id)
	return err
}
