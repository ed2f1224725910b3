package websession

import (
	"context"
	"time"

	"github.com/modelkeep/modelkeep"
)

// Store keeps sessions and the sign-ins in flight at the identity provider.
// Implementations (store/) translate their errors to the root's kinds: a
// missing row is modelkeep.ErrNotFound, an unreachable database
// modelkeep.ErrUnavailable.
type Store interface {
	// InSessionTx runs fn in one transaction with a store bound to it: a
	// session and its audit event are written together or not at all.
	InSessionTx(ctx context.Context, fn func(tx Store) error) error
	// AppendAudit is where the sign-in and sign-out events go.
	modelkeep.AuditAppender

	// CreateSession stores s under s.ID.
	CreateSession(ctx context.Context, s Session) error
	// GetSession reads the session with this id; ErrNotFound when there is
	// none (never was, or swept).
	GetSession(ctx context.Context, id string) (Session, error)
	// TouchSession records a request: LastSeenAt and IdleExpiresAt move to
	// seen and idleExpires, unless the session is revoked.
	TouchSession(ctx context.Context, id string, seen, idleExpires time.Time) error
	// RevokeSession marks a session revoked at at (a revoked one keeps its
	// first time); ErrNotFound when there is none.
	RevokeSession(ctx context.Context, id string, at time.Time) error
	// DeleteEndedSessions removes the sessions that ended (expired, idle
	// or revoked) before cutoff and the sign-ins that expired before it,
	// and returns how many rows went.
	DeleteEndedSessions(ctx context.Context, cutoff time.Time) (int64, error)

	// CreateOIDCLogin stores a sign-in begun at the identity provider.
	CreateOIDCLogin(ctx context.Context, l OIDCLogin) error
	// TakeOIDCLogin removes the sign-in with this id and returns it: a
	// state is redeemed once. ErrNotFound when there is none (never begun,
	// taken already, or swept).
	TakeOIDCLogin(ctx context.Context, id string) (OIDCLogin, error)
}
