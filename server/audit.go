package server

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/modelkeep/modelkeep/audit"
	"github.com/modelkeep/modelkeep/auditseq"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/auth"
)

// auditKeyDir is where a key for signing audit checkpoints is generated
// (as jwt-ed25519.pem, auth's name for it) when neither
// MODELKEEP_AUDIT_KEY_FILE nor an Ed25519 JWT key is configured.
const auditKeyDir = "audit-key"

// setAuditRetention reads MODELKEEP_AUDIT_RETENTION: whole days ("184d")
// or a Go duration ("4416h"), never below modelkeep.MinAuditRetention.
func setAuditRetention(c *Config, v string) error {
	var d time.Duration
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.ParseInt(days, 10, 64)
		if err != nil || n < 0 || n > 100*366 {
			return fmt.Errorf("invalid retention %q: want days such as 184d, or a duration", v)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			return fmt.Errorf("invalid retention %q: want days such as 184d, or a duration", v)
		}
	}
	if d < modelkeep.MinAuditRetention {
		return fmt.Errorf("retention %q is below the minimum of 184d (six months, EU AI Act Art. 19)", v)
	}
	c.AuditRetention = d
	return nil
}

func setAuditCheckpointInterval(c *Config, v string) error {
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return fmt.Errorf("invalid duration %q", v)
	}
	c.AuditCheckpointInterval = d
	return nil
}

// loadAuditSigner returns the key that signs audit checkpoints and exports:
// MODELKEEP_AUDIT_KEY_FILE, else the JWT key when it is Ed25519, else one
// generated in the data dir. Instances sharing a database should share it
// (as they share the JWT key), so that each trusts the others' checkpoints.
func loadAuditSigner(cfg Config, jwtKey *auth.Key) (*audit.Signer, error) {
	key := jwtKey
	if cfg.AuditKeyFile != "" || jwtKey == nil || jwtKey.Algorithm() != auth.AlgEdDSA {
		kc := auth.KeyConfig{KeyFile: cfg.AuditKeyFile}
		if cfg.AuditKeyFile == "" {
			kc.DataDir = filepath.Join(cfg.DataDir, auditKeyDir)
		}
		var err error
		if key, err = auth.LoadKey(kc); err != nil {
			return nil, fmt.Errorf("load audit signing key: %w", err)
		}
	}
	priv, ok := key.Ed25519()
	if !ok {
		return nil, errors.New("load audit signing key: not an Ed25519 key")
	}
	return audit.NewSigner(priv)
}

// startAuditCheckpoints signs the audit chain head every
// AuditCheckpointInterval while it moves, and once more when ctx ends (so a
// clean shutdown leaves the tail covered). The returned function waits for
// that last checkpoint.
func (s *Server) startAuditCheckpoints(ctx context.Context) (wait func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		if s.cfg.AuditCheckpointInterval <= 0 {
			return
		}
		t := time.NewTicker(s.cfg.AuditCheckpointInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
				// Chain what this process recorded last, so that the
				// final checkpoint covers it.
				if _, err := s.service.SyncAudit(final); err != nil {
					s.logger.ErrorContext(ctx, "sequence audit events", "err", err)
				}
				s.checkpointAudit(final)
				cancel()
				return
			case <-t.C:
				s.checkpointAudit(ctx)
			}
		}
	}()
	return func() { <-done }
}

// StartAuditSequencer runs the audit sequencer (auditseq.Run)
// until ctx ends: the one process holding the database lease chains the
// events every change queued. The returned function waits for it to stop
// and release the lease. Run starts it; whoever serves Handler otherwise
// starts it too (with StartFollowingChanges), or events wait to be chained until a
// read of the audit log chains them, and the ready-version cache stays off.
func (s *Server) StartAuditSequencer(ctx context.Context) (wait func()) {
	host, _ := os.Hostname()
	var nonce [4]byte
	_, _ = rand.Read(nonce[:])
	holder := fmt.Sprintf("%s/%d/%x", host, os.Getpid(), nonce)
	done := make(chan struct{})
	go func() {
		defer close(done)
		auditseq.Run(ctx, s.meta, s.logger, auditseq.Options{Holder: holder, Wake: s.meta.AuditQueued()})
	}()
	return func() { <-done }
}

func (s *Server) checkpointAudit(ctx context.Context) {
	c, created, err := s.service.CheckpointAudit(ctx)
	switch {
	case err != nil:
		s.logger.ErrorContext(ctx, "sign audit checkpoint", "err", err)
	case created:
		s.logger.DebugContext(ctx, "signed audit checkpoint", "seq", c.Seq, "hash", c.Hash, "key_id", c.KeyID)
	}
}

const auditUsage = `Usage:
  modelkeep audit verify FILE --public-key KEY [--public-key KEY] [--json]
      verify an export (GET /api/v1/audit/export, JSON Lines or CSV) offline;
      FILE - reads stdin. KEY is a PEM public key file (GET
      /api/v1/audit/checkpoints shows the server's); give every key that
      signed the export's checkpoints. Exit status 0 when it verifies, 1 when
      it does not, 2 on bad usage.
  modelkeep audit prune [--dry-run] [flags]
      remove audit events older than MODELKEEP_AUDIT_RETENTION (at least
      184d), keeping the chain verifiable through a signed anchor. Run it
      with a --database user allowed to DELETE from the audit tables (the
      server's user should not be); see docs/audit.md.
`

const auditVerifyUsage = `Usage: modelkeep audit verify FILE --public-key KEY [--public-key KEY] [--json]

Verifies an audit log export (GET /api/v1/audit/export, JSON Lines or CSV)
offline; FILE - reads stdin. KEY is a PEM public key file (GET
/api/v1/audit/checkpoints shows the server's); give every key that signed
the export's checkpoints. Exit status 0 when it verifies, 1 when it does
not, 2 on bad usage.
`

const auditPruneUsage = `Usage: modelkeep audit prune [--dry-run] [flags]

Removes audit events older than the retention (at least 184d), keeping the
chain verifiable through a signed anchor. Run it with a --database user
allowed to DELETE from the audit tables (the server's user should not be);
see docs/audit.md. It reads the same configuration as serve.
`

// auditCommand runs `modelkeep audit ...`.
func auditCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, auditUsage)
		return 2
	}
	switch args[0] {
	case "verify":
		return auditVerifyCommand(args[1:], stdout, stderr)
	case "prune":
		return auditPruneCommand(ctx, args[1:], getenv, stdout, stderr)
	case "-h", "--help", "-help", "help":
		fmt.Fprint(stdout, auditUsage)
		return 0
	}
	fmt.Fprintf(stderr, "modelkeep audit: unknown command %q\n\n%s", args[0], auditUsage)
	return 2
}

// parseInterleaved parses flags that may come before or after positional
// arguments (verify FILE --public-key KEY), returning the positional ones.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func auditVerifyCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("audit verify")
	var keyFiles listFlag
	fs.Var(&keyFiles, "public-key", "PEM file of a public key whose signatures are trusted (repeatable; required)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		printUsage(stdout, fs, auditVerifyUsage, nil)
		return 0
	}
	if err == nil && (len(pos) != 1 || len(keyFiles) == 0) {
		err = errors.New("want one FILE and at least one --public-key")
	}
	if err != nil {
		return usageError(stderr, "audit verify", err)
	}
	keys, err := readPublicKeys(keyFiles)
	if err != nil {
		fmt.Fprintf(stderr, "modelkeep audit verify: %v\n", err)
		return 2
	}
	in := io.Reader(os.Stdin)
	if pos[0] != "-" {
		f, err := os.Open(pos[0])
		if err != nil {
			fmt.Fprintf(stderr, "modelkeep audit verify: %v\n", err)
			return 2
		}
		defer f.Close()
		in = f
	}
	res, err := audit.VerifyExport(in, keys)
	if err != nil {
		fmt.Fprintf(stderr, "modelkeep audit verify: %v\n", err)
		return 1
	}
	if *asJSON {
		out := map[string]any{"ok": res.OK, "format": res.Format, "events": res.Events, "first_seq": res.FirstSeq,
			"last_seq": res.LastSeq, "head": res.Head, "checkpoints_verified": res.CheckpointsVerified,
			"checkpoints_unverified": res.CheckpointsUnverified}
		if !res.OK {
			out["first_broken_seq"], out["reason"] = res.FirstBrokenSeq, res.Reason
		} else {
			out["exported_at"], out["seal_key_id"] = audit.FormatTime(res.ExportedAt), res.SealKeyID
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(out)
	} else if res.OK {
		fmt.Fprintf(stdout, "OK: %d events (seq %d to %d), head %s\n", res.Events, res.FirstSeq, res.LastSeq, res.Head)
		fmt.Fprintf(stdout, "sealed at %s by key %s; %d checkpoints verified, %d by unknown keys\n",
			audit.FormatTime(res.ExportedAt), res.SealKeyID, res.CheckpointsVerified, res.CheckpointsUnverified)
	} else {
		fmt.Fprintf(stdout, "BROKEN at seq %d: %s\n", res.FirstBrokenSeq, res.Reason)
		fmt.Fprintf(stdout, "%d events verified before it\n", res.Events)
	}
	if !res.OK {
		return 1
	}
	return 0
}

func auditPruneCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := newFlagSet("audit prune")
	dryRun := fs.Bool("dry-run", false, "report what would be removed, remove nothing")
	cfg, err := parseConfig(fs, args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		printUsage(stdout, fs, auditPruneUsage, pruneSettings)
		return 0
	}
	if err != nil {
		return usageError(stderr, "audit prune", err)
	}
	logger := NewLogger(cfg, stderr)
	res, err := PruneAudit(ctx, cfg, logger, *dryRun)
	if err != nil {
		logger.Error("modelkeep audit prune failed", "err", err)
		return 1
	}
	switch {
	case res.ThroughSeq == 0:
		fmt.Fprintf(stdout, "nothing to prune: no event is older than %s\n", audit.FormatTime(res.Cutoff))
	case *dryRun:
		fmt.Fprintf(stdout, "would remove %d events (seq %d to %d), older than %s\n", res.Deleted, res.FirstSeq, res.ThroughSeq, audit.FormatTime(res.Cutoff))
	default:
		fmt.Fprintf(stdout, "removed %d events (seq %d to %d), older than %s; the chain now starts after the signed anchor at seq %d\n",
			res.Deleted, res.FirstSeq, res.ThroughSeq, audit.FormatTime(res.Cutoff), res.ThroughSeq)
	}
	return 0
}

// PruneAudit opens the database of cfg and removes the audit events older
// than cfg.AuditRetention (see modelkeep.Service.PruneAudit), as the local
// administrator.
func PruneAudit(ctx context.Context, cfg Config, logger *slog.Logger, dryRun bool) (modelkeep.AuditPrune, error) {
	meta, _, err := openStore(ctx, cfg, logger)
	if err != nil {
		return modelkeep.AuditPrune{}, fmt.Errorf("open database: %w", err)
	}
	defer meta.Close()
	key, err := auth.LoadKey(auth.KeyConfig{DataDir: cfg.DataDir, Secret: cfg.JWTSecret, KeyFile: cfg.JWTKeyFile})
	if err != nil {
		return modelkeep.AuditPrune{}, fmt.Errorf("load token signing key: %w", err)
	}
	signer, err := loadAuditSigner(cfg, key)
	if err != nil {
		return modelkeep.AuditPrune{}, err
	}
	svc := modelkeep.NewService(meta, nil, modelkeep.ServiceOptions{Logger: logger, AuditSigner: signer})
	ctx = modelkeep.WithActor(ctx, modelkeep.Actor{Subject: "local-admin (modelkeep audit prune)", Roles: []string{modelkeep.RoleAdmin}})
	return svc.PruneAudit(ctx, cfg.AuditRetention, dryRun)
}
