package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/modelkeep/modelkeep/migrations"
	"github.com/modelkeep/modelkeep/store"
)

// appliedMigrationMsg is the message of the record store.Open logs for each
// migration it applies.
const appliedMigrationMsg = "applied migration"

// schemaReport is what opening the database did to its schema.
type schemaReport struct {
	Applied int // migrations applied now
	Version int // the schema's version afterwards
}

func (r schemaReport) String() string {
	switch r.Applied {
	case 0:
		return fmt.Sprintf("up to date, schema at %d", r.Version)
	case 1:
		return fmt.Sprintf("applied 1 migration, schema at %d", r.Version)
	}
	return fmt.Sprintf("applied %d migrations, schema at %d", r.Applied, r.Version)
}

// openStore opens the database of cfg, applying pending migrations. The
// store's record of each one is counted and logged only when cfg.Verbose:
// a fresh database would otherwise print a line per file.
func openStore(ctx context.Context, cfg Config, logger *slog.Logger) (*store.Store, schemaReport, error) {
	counter := &migrationCounter{next: logger.Handler(), verbose: cfg.Verbose, applied: new(atomic.Int64)}
	meta, err := store.Open(ctx, store.Options{URL: cfg.Database, DataDir: cfg.DataDir, Logger: slog.New(counter)})
	if err != nil {
		return nil, schemaReport{}, err
	}
	version, err := latestMigration(cfg.Database)
	if err != nil {
		return nil, schemaReport{}, errors.Join(err, meta.Close())
	}
	return meta, schemaReport{Applied: int(counter.applied.Load()), Version: version}, nil
}

// latestMigration is the newest migration this binary knows for the
// dialect of database: once store.Open succeeded, the schema's version (it
// applies every pending one and refuses a schema it does not know).
func latestMigration(database string) (int, error) {
	dialect := "sqlite"
	if strings.HasPrefix(database, "mysql://") {
		dialect = "mysql"
	}
	all, err := migrations.Load(dialect)
	if err != nil || len(all) == 0 {
		return 0, fmt.Errorf("load migrations: %w", err)
	}
	return all[len(all)-1].Version, nil
}

// migrationCounter is a slog.Handler in front of the store's logger: it
// counts the applied-migration records and passes them on only when
// verbose; every other record goes through as is.
type migrationCounter struct {
	next    slog.Handler
	verbose bool
	applied *atomic.Int64 // shared by the handlers WithAttrs and WithGroup derive
}

// Enabled lets Info records through even when the logger's level is higher,
// so that they are counted.
func (h *migrationCounter) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= slog.LevelInfo || h.next.Enabled(ctx, level)
}

func (h *migrationCounter) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == appliedMigrationMsg {
		h.applied.Add(1)
		if !h.verbose {
			return nil
		}
	}
	if !h.next.Enabled(ctx, r.Level) {
		return nil
	}
	return h.next.Handle(ctx, r)
}

func (h *migrationCounter) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &migrationCounter{next: h.next.WithAttrs(attrs), verbose: h.verbose, applied: h.applied}
}

func (h *migrationCounter) WithGroup(name string) slog.Handler {
	return &migrationCounter{next: h.next.WithGroup(name), verbose: h.verbose, applied: h.applied}
}
