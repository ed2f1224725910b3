// Package api is Modelkeep's HTTP layer: Echo handlers implementing the
// strict server generated from openapi.yaml, the byte routes bound by hand,
// request validation against the spec, and the one place where errors become
// HTTP statuses.
package api

import (
	"log/slog"
	"time"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/api/openapi"
	"github.com/modelkeep/modelkeep/compliance"
	"github.com/modelkeep/modelkeep/uploads"
	"github.com/modelkeep/modelkeep/websession"
)

// Handlers serves the API on top of the domain service.
type Handlers struct {
	svc           *modelkeep.Service
	compliance    *compliance.Service
	uploads       *uploads.Service
	logger        *slog.Logger
	maxUploadSize int64
	presignTTL    time.Duration
	sessions      *websession.Service
	secure        bool
}

// Options tune the handlers.
type Options struct {
	Logger *slog.Logger
	// MaxUploadSize bounds one file upload, in bytes.
	MaxUploadSize int64
	// PresignTTL is the lifetime of presigned download URLs.
	PresignTTL time.Duration
	// Compliance serves cards, documents and evidence; without it their
	// routes answer 503.
	Compliance *compliance.Service
	// Sessions serves the browser sign-in (/api/v1/session); without it
	// those routes answer 503 (and OIDC reports itself disabled).
	Sessions *websession.Service
	// SecureCookies gives cookies the Secure attribute (an https public
	// URL); a request over TLS gets it anyway.
	SecureCookies bool
	// Uploads serves resumable uploads; without it their routes answer
	// 503.
	Uploads *uploads.Service
}

var _ openapi.StrictServerInterface = (*Handlers)(nil)

// NewHandlers makes the handlers.
func NewHandlers(svc *modelkeep.Service, opts Options) *Handlers {
	h := &Handlers{svc: svc, compliance: opts.Compliance, uploads: opts.Uploads, logger: opts.Logger, maxUploadSize: opts.MaxUploadSize,
		presignTTL: opts.PresignTTL, sessions: opts.Sessions, secure: opts.SecureCookies}
	if h.logger == nil {
		h.logger = slog.New(slog.DiscardHandler)
	}
	if h.maxUploadSize <= 0 {
		h.maxUploadSize = 64 << 30
	}
	if h.presignTTL <= 0 {
		h.presignTTL = 5 * time.Minute
	}
	return h
}
