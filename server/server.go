// Package server wires Modelkeep together: configuration, the stores, the
// HTTP server, background jobs and graceful shutdown.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/api"
	"github.com/modelkeep/modelkeep/auth"
	"github.com/modelkeep/modelkeep/compliance"
	"github.com/modelkeep/modelkeep/internal/readahead"
	"github.com/modelkeep/modelkeep/store"
	"github.com/modelkeep/modelkeep/store/blob"
	"github.com/modelkeep/modelkeep/uploads"
	"github.com/modelkeep/modelkeep/websession"
)

// Server is an assembled Modelkeep: stores, domain service and HTTP handler.
type Server struct {
	cfg      Config
	logger   *slog.Logger
	meta     *store.Store
	blobs    modelkeep.BlobStore
	service  *modelkeep.Service
	sessions *websession.Service
	uploads  *uploads.Service
	echo     *echo.Echo
	schema   schemaReport // what opening the database did to its schema
}

// New opens the stores (applying pending migrations) and builds the handler.
func New(ctx context.Context, cfg Config, logger *slog.Logger) (*Server, error) {
	meta, schema, err := openStore(ctx, cfg, logger)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if schema.Applied > 0 {
		logger.Info("applied migrations", "count", schema.Applied, "schema", schema.Version)
	}
	blobs, err := blob.Open(ctx, cfg.Blobs, cfg.DataDir)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("open blob store: %w", err), meta.Close())
	}
	key, err := auth.LoadKey(auth.KeyConfig{DataDir: cfg.DataDir, Secret: cfg.JWTSecret, KeyFile: cfg.JWTKeyFile})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("load token signing key: %w", err), meta.Close())
	}
	auditSigner, err := loadAuditSigner(cfg, key)
	if err != nil {
		return nil, errors.Join(err, meta.Close())
	}
	// The page token key is the database's, so that every replica accepts
	// the tokens of the others; the first to start makes it.
	pager, err := modelkeep.LoadPager(ctx, meta)
	if err != nil {
		return nil, errors.Join(err, meta.Close())
	}
	svc := modelkeep.NewService(meta, blobs, modelkeep.ServiceOptions{
		Logger: logger, Signer: auth.NewIssuer(key, auth.DefaultIssuer, auth.DefaultAudience),
		TokenCacheTTL: cfg.TokenCacheTTL, AuditSigner: auditSigner, Pager: pager,
	})
	verifier, err := newVerifier(cfg, key, svc)
	if err != nil {
		return nil, errors.Join(err, meta.Close())
	}
	comp := compliance.New(meta, blobs, svc.AuditLog, compliance.Options{
		Signer: auditSigner, Logger: logger, AuditRetention: cfg.AuditRetention, GeneratorVersion: Version, Pager: pager,
	})
	svc.SetEvidenceGate(comp)
	sessions, err := newSessions(cfg, meta, svc, verifier)
	if err != nil {
		return nil, errors.Join(err, meta.Close())
	}
	ups := uploads.New(meta, blobs, svc.AuditLog, uploads.Options{
		PartSize: cfg.UploadPartSize, MaxSize: cfg.MaxUploadSize, Expiry: cfg.UploadExpiry, Logger: logger, Pager: pager,
		PresignTTL: cfg.PresignTTL,
	})
	e, err := newEcho(cfg, svc, comp, ups, verifier, sessions, logger, meta)
	if err != nil {
		return nil, errors.Join(err, meta.Close())
	}
	return &Server{cfg: cfg, logger: logger, meta: meta, blobs: blobs, service: svc, sessions: sessions, uploads: ups, echo: e, schema: schema}, nil
}

// newSessions builds the web UI's sign-in: with a token always, at the
// identity provider when its client is configured.
func newSessions(cfg Config, meta *store.Store, svc *modelkeep.Service, verifier *auth.Verifier) (*websession.Service, error) {
	opts := websession.Options{
		Store: meta, Authenticator: verifier, LookupToken: svc.LookupToken, Audit: svc.AuditLog,
		IdleTimeout: cfg.SessionIdleTimeout, MaxAge: cfg.SessionMaxAge, Now: cfg.now,
	}
	if cfg.OIDCClientID != "" {
		client, err := verifier.OIDCClient(cfg.OIDCClientID, cfg.OIDCClientSecret)
		if err != nil {
			return nil, fmt.Errorf("oidc client: %w", err)
		}
		opts.OIDC = &websession.OIDCOptions{
			Provider: oidcProvider{client}, ClientID: cfg.OIDCClientID, Issuer: cfg.OIDCIssuer,
			RedirectURI: strings.TrimSuffix(cfg.PublicURL, "/") + api.OIDCCallbackPath,
			Scopes:      strings.Fields(cfg.OIDCScopes),
		}
	}
	s, err := websession.New(opts)
	if err != nil {
		return nil, fmt.Errorf("browser sessions: %w", err)
	}
	return s, nil
}

// oidcProvider adapts auth.OIDCClient to websession.Provider.
type oidcProvider struct{ c *auth.OIDCClient }

func (p oidcProvider) AuthorizationEndpoint(ctx context.Context) (string, error) {
	return p.c.AuthorizationEndpoint(ctx)
}

func (p oidcProvider) Redeem(ctx context.Context, code, verifier, redirectURI string) (websession.Identity, error) {
	t, err := p.c.Redeem(ctx, code, verifier, redirectURI)
	if err != nil {
		return websession.Identity{}, err
	}
	return websession.Identity{Actor: modelkeep.Actor{Subject: t.Subject, Roles: t.Roles}, Nonce: t.Nonce}, nil
}

// newVerifier checks Modelkeep's own tokens (revocation looked up on every
// request) and, when configured, those of an OIDC identity provider.
func newVerifier(cfg Config, key *auth.Key, svc *modelkeep.Service) (*auth.Verifier, error) {
	opts := auth.VerifierOptions{Issuer: auth.DefaultIssuer, Audience: auth.DefaultAudience, Lookup: svc.LookupToken}
	if cfg.OIDCIssuer != "" {
		roleMap, err := auth.ParseRoleMap(cfg.OIDCRoleMap)
		if err != nil {
			return nil, fmt.Errorf("oidc role map: %w", err)
		}
		opts.OIDC = &auth.OIDCConfig{Issuer: cfg.OIDCIssuer, Audience: cfg.OIDCAudience, RoleClaim: cfg.OIDCRoleClaim, RoleMap: roleMap}
	}
	v, err := auth.NewVerifier(key, opts)
	if err != nil {
		return nil, fmt.Errorf("token verifier: %w", err)
	}
	return v, nil
}

// IssueToken issues a token as the local administrator: how `modelkeep token
// create` bootstraps a fresh install before any user exists.
func (s *Server) IssueToken(ctx context.Context, in modelkeep.TokenInput) (modelkeep.Token, string, error) {
	ctx = modelkeep.WithActor(ctx, modelkeep.Actor{Subject: "local-admin (modelkeep token create)", Roles: []string{modelkeep.RoleAdmin}})
	return s.service.CreateToken(ctx, in)
}

// Handler is the HTTP handler of the whole server.
func (s *Server) Handler() http.Handler { return s.echo }

// Service is the domain service (for in-process tools and tests).
func (s *Server) Service() *modelkeep.Service { return s.service }

// Close releases the stores.
func (s *Server) Close() error { return s.meta.Close() }

// StartFollowingChanges lets the store's ready-version cache serve,
// keeping it current with the changes of other processes, until ctx ends;
// the returned function waits for it to stop. Run starts it; whoever serves
// Handler otherwise starts it too (with StartAuditSequencer), or every
// version read goes to the database (store/readycache.go).
func (s *Server) StartFollowingChanges(ctx context.Context) (wait func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.meta.FollowChanges(ctx)
	}()
	return func() { <-done }
}

// Migrate applies pending migrations and reports what it did.
func Migrate(ctx context.Context, cfg Config, logger *slog.Logger) (schemaReport, error) {
	meta, report, err := openStore(ctx, cfg, logger)
	if err != nil {
		return schemaReport{}, fmt.Errorf("migrate: %w", err)
	}
	return report, meta.Close()
}

// Run serves until ctx is cancelled, then drains in-flight requests for up
// to cfg.ShutdownGrace and closes everything in reverse order.
func Run(ctx context.Context, cfg Config, logger *slog.Logger) error {
	srv, err := openWithRetry(ctx, cfg, logger)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return errors.Join(fmt.Errorf("listen on %s: %w", cfg.Listen, err), srv.Close())
	}
	httpServer := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// No global Read/WriteTimeout: artifact transfers take as long as
		// they take; byte handlers manage their own deadlines.
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	jobs, stopJobs := context.WithCancel(context.Background())
	jobsDone := make(chan struct{})
	go func() {
		defer close(jobsDone)
		srv.sweepOrphans(jobs)
	}()
	sessionsDone := make(chan struct{})
	go func() {
		defer close(sessionsDone)
		srv.sweepSessions(jobs)
	}()
	sequencerDone := srv.StartAuditSequencer(jobs)
	auditJobDone := srv.startAuditCheckpoints(jobs)
	followDone := srv.StartFollowingChanges(jobs)

	serveErr := make(chan error, 1)
	go func() { serveErr <- httpServer.Serve(readahead.NewListener(ln, 0)) }()
	version, commit := buildVersion()
	command := srv.firstTokenHint(ctx)
	logger.Info("modelkeep serving", "listen", ln.Addr().String(), "version", version, "commit", commit,
		"database", redactURL(cfg.Database), "schema", srv.schema.Version, "blobs", redactURL(cfg.Blobs))
	if command != "" {
		logger.Info("no token exists yet: create the first one with the command", "command", command)
	}

	var errs []error
	select {
	case err := <-serveErr:
		errs = append(errs, fmt.Errorf("serve: %w", err))
	case <-ctx.Done():
		logger.Info("shutting down", "grace", cfg.ShutdownGrace)
		shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
		if err := httpServer.Shutdown(shutdownCtx); err != nil {
			errs = append(errs, fmt.Errorf("shutdown: %w", err))
		}
		cancel()
	}
	stopJobs()
	<-jobsDone
	<-sessionsDone
	followDone()
	sequencerDone()
	auditJobDone()
	if err := srv.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close stores: %w", err))
	}
	return errors.Join(errs...)
}

// openWithRetry opens the stores, waiting for a database or bucket that is
// still starting (compose, Kubernetes) instead of failing at once.
func openWithRetry(ctx context.Context, cfg Config, logger *slog.Logger) (*Server, error) {
	delay := 500 * time.Millisecond
	for {
		srv, err := New(ctx, cfg, logger)
		if err == nil || !errors.Is(err, modelkeep.ErrUnavailable) {
			return srv, err
		}
		logger.Warn("backing service not reachable yet; retrying", "err", err, "retry_in", delay)
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(delay):
		}
		delay = min(delay*2, 15*time.Second)
	}
}
