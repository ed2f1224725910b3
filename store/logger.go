package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// slowQuery is the duration above which a statement is logged at Warn.
const slowQuery = 200 * time.Millisecond

// gormLogger feeds GORM's log to slog. Levels come from the slog handler, not
// from GORM's LogMode. Failed statements are logged at Debug only: the error
// is returned to the caller, and the edge logs it once.
type gormLogger struct {
	logger *slog.Logger
	slow   time.Duration
}

var (
	_ logger.Interface  = gormLogger{}
	_ gorm.ParamsFilter = gormLogger{}
)

func (l gormLogger) LogMode(logger.LogLevel) logger.Interface { return l }

func (l gormLogger) Info(ctx context.Context, msg string, args ...any) {
	l.logger.DebugContext(ctx, fmt.Sprintf(msg, args...))
}

func (l gormLogger) Warn(ctx context.Context, msg string, args ...any) {
	l.logger.WarnContext(ctx, fmt.Sprintf(msg, args...))
}

func (l gormLogger) Error(ctx context.Context, msg string, args ...any) {
	// GORM reports here what it also returns (a failed open, for instance).
	l.logger.WarnContext(ctx, fmt.Sprintf(msg, args...))
}

func (l gormLogger) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	elapsed := time.Since(begin)
	switch {
	case elapsed > l.slow:
		q, rows := fc()
		l.logger.WarnContext(ctx, "slow query", "elapsed_ms", elapsed.Milliseconds(), "rows", rows, "sql", q)
	case errors.Is(err, gorm.ErrRecordNotFound):
		// An expected outcome, translated to ErrNotFound by the caller.
	case l.logger.Enabled(ctx, slog.LevelDebug):
		q, rows := fc()
		args := []any{"elapsed_ms", elapsed.Milliseconds(), "rows", rows, "sql", q}
		if err != nil {
			args = append(args, "err", err)
		}
		l.logger.DebugContext(ctx, "query", args...)
	}
}

// ParamsFilter drops the bound values from logged SQL: they may hold token
// hashes, user text or other data that has no place in a log.
func (gormLogger) ParamsFilter(_ context.Context, sql string, _ ...any) (string, []any) {
	return sql, nil
}

// mysqlLogger receives the MySQL driver's own diagnostics (dropped
// connections, malformed packets), which it would otherwise print to stderr.
type mysqlLogger struct{ logger *slog.Logger }

func (l mysqlLogger) Print(v ...any) {
	l.logger.Warn("mysql driver", "msg", fmt.Sprint(v...))
}
