package store

import (
	"context"
	"fmt"
	"time"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/websession"
)

// This file implements websession.Store: browser sessions and the sign-ins
// in flight at the identity provider.

var _ websession.Store = (*Store)(nil)

// InSessionTx is InTx for the session use cases.
func (s *Store) InSessionTx(ctx context.Context, fn func(tx websession.Store) error) error {
	return s.inTxStore(ctx, func(tx *Store) error { return fn(tx) })
}

type webSessionRow struct {
	ID            string     `gorm:"column:id;primaryKey"`
	Subject       string     `gorm:"column:subject"`
	Roles         string     `gorm:"column:roles"`  // JSON array
	Models        string     `gorm:"column:models"` // JSON array
	Source        string     `gorm:"column:source"`
	TokenID       string     `gorm:"column:token_id"`
	CSRFToken     string     `gorm:"column:csrf_token"`
	CreatedAt     time.Time  `gorm:"column:created_at;autoCreateTime:false"`
	LastSeenAt    time.Time  `gorm:"column:last_seen_at"`
	IdleExpiresAt time.Time  `gorm:"column:idle_expires_at"`
	ExpiresAt     time.Time  `gorm:"column:expires_at"`
	RevokedAt     *time.Time `gorm:"column:revoked_at"`
}

func (webSessionRow) TableName() string { return "web_sessions" }

func toSession(r webSessionRow) (websession.Session, error) {
	roles, err := decodeList(r.Roles)
	if err != nil {
		return websession.Session{}, fmt.Errorf("decode roles of a session: %w", err)
	}
	models, err := decodeList(r.Models)
	if err != nil {
		return websession.Session{}, fmt.Errorf("decode models of a session: %w", err)
	}
	sess := websession.Session{
		ID: r.ID, Subject: r.Subject, Roles: roles, Models: models, Source: r.Source, TokenID: r.TokenID,
		CSRFToken: r.CSRFToken, CreatedAt: r.CreatedAt.UTC(), LastSeenAt: r.LastSeenAt.UTC(),
		IdleExpiresAt: r.IdleExpiresAt.UTC(), ExpiresAt: r.ExpiresAt.UTC(),
	}
	if r.RevokedAt != nil {
		at := r.RevokedAt.UTC()
		sess.RevokedAt = &at
	}
	return sess, nil
}

// CreateSession stores a session; ErrConflict if its id exists (which 256
// random bits make impossible in practice).
func (s *Store) CreateSession(ctx context.Context, sess websession.Session) error {
	roles, err := encodeList(sess.Roles)
	if err != nil {
		return fmt.Errorf("create session: encode roles: %w", err)
	}
	models, err := encodeList(sess.Models)
	if err != nil {
		return fmt.Errorf("create session: encode models: %w", err)
	}
	row := webSessionRow{
		ID: sess.ID, Subject: sess.Subject, Roles: roles, Models: models, Source: sess.Source, TokenID: sess.TokenID,
		CSRFToken: sess.CSRFToken, CreatedAt: s.orNow(sess.CreatedAt), LastSeenAt: s.orNow(sess.LastSeenAt),
		IdleExpiresAt: utc(sess.IdleExpiresAt), ExpiresAt: utc(sess.ExpiresAt),
	}
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		return dbErr("create session", err)
	}
	return nil
}

// GetSession reads a session by id; ErrNotFound when there is none.
func (s *Store) GetSession(ctx context.Context, id string) (websession.Session, error) {
	var row webSessionRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return websession.Session{}, notFound("get session", err, "session not found")
	}
	return toSession(row)
}

// TouchSession moves a live session's last request and idle expiry; a
// revoked or missing session is left alone (the request that touches it is
// refused anyway).
func (s *Store) TouchSession(ctx context.Context, id string, seen, idleExpires time.Time) error {
	err := s.db.WithContext(ctx).Model(&webSessionRow{}).Where("id = ? AND revoked_at IS NULL", id).
		Updates(map[string]any{"last_seen_at": utc(seen), "idle_expires_at": utc(idleExpires)}).Error
	return dbErr("touch session", err)
}

// RevokeSession marks a session revoked at at, keeping the first time;
// ErrNotFound when there is none.
func (s *Store) RevokeSession(ctx context.Context, id string, at time.Time) error {
	db := s.db.WithContext(ctx)
	res := db.Model(&webSessionRow{}).Where("id = ? AND revoked_at IS NULL", id).Update("revoked_at", utc(at))
	if res.Error != nil {
		return dbErr("revoke session", res.Error)
	}
	if res.RowsAffected == 1 {
		return nil
	}
	_, err := s.GetSession(ctx, id)
	return err
}

// DeleteEndedSessions removes the sessions that expired, went idle or were
// revoked before cutoff and the sign-ins that expired before it.
func (s *Store) DeleteEndedSessions(ctx context.Context, cutoff time.Time) (int64, error) {
	at := utc(cutoff)
	db := s.db.WithContext(ctx)
	res := db.Where("expires_at < ? OR idle_expires_at < ? OR revoked_at < ?", at, at, at).Delete(&webSessionRow{})
	if res.Error != nil {
		return 0, dbErr("delete ended sessions", res.Error)
	}
	n := res.RowsAffected
	res = db.Where("expires_at < ?", at).Delete(&oidcLoginRow{})
	if res.Error != nil {
		return n, dbErr("delete expired sign-ins", res.Error)
	}
	return n + res.RowsAffected, nil
}

type oidcLoginRow struct {
	ID           string    `gorm:"column:id;primaryKey"`
	Nonce        string    `gorm:"column:nonce"`
	CodeVerifier string    `gorm:"column:code_verifier"`
	ReturnTo     string    `gorm:"column:return_to"`
	CreatedAt    time.Time `gorm:"column:created_at;autoCreateTime:false"`
	ExpiresAt    time.Time `gorm:"column:expires_at"`
}

func (oidcLoginRow) TableName() string { return "oidc_logins" }

// CreateOIDCLogin stores a sign-in in flight.
func (s *Store) CreateOIDCLogin(ctx context.Context, l websession.OIDCLogin) error {
	row := oidcLoginRow{ID: l.ID, Nonce: l.Nonce, CodeVerifier: l.CodeVerifier, ReturnTo: l.ReturnTo,
		CreatedAt: s.orNow(l.CreatedAt), ExpiresAt: utc(l.ExpiresAt)}
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		return dbErr("create sign-in", err)
	}
	return nil
}

// TakeOIDCLogin reads a sign-in and deletes it. Of two callers racing for
// the same state only the one whose DELETE removes the row gets it (compare
// and swap): the other gets ErrNotFound, as does every later one.
func (s *Store) TakeOIDCLogin(ctx context.Context, id string) (websession.OIDCLogin, error) {
	db := s.db.WithContext(ctx)
	var row oidcLoginRow
	if err := db.Where("id = ?", id).Take(&row).Error; err != nil {
		return websession.OIDCLogin{}, notFound("take sign-in", err, "sign-in not found")
	}
	res := db.Where("id = ?", id).Delete(&oidcLoginRow{})
	switch {
	case res.Error != nil:
		return websession.OIDCLogin{}, dbErr("take sign-in", res.Error)
	case res.RowsAffected != 1:
		return websession.OIDCLogin{}, modelkeep.Errorf(modelkeep.ErrNotFound, "sign-in not found")
	}
	return websession.OIDCLogin{ID: row.ID, Nonce: row.Nonce, CodeVerifier: row.CodeVerifier, ReturnTo: row.ReturnTo,
		CreatedAt: row.CreatedAt.UTC(), ExpiresAt: row.ExpiresAt.UTC()}, nil
}
