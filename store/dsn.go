package store

import (
	"errors"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/modelkeep/modelkeep"
)

const (
	dialectMySQL  = "mysql"
	dialectSQLite = "sqlite"
)

// target is a parsed MODELKEEP_DATABASE value.
type target struct {
	dialect    string
	sqlitePath string          // for sqlite
	mysql      *gomysql.Config // for mysql
}

// parseURL reads MODELKEEP_DATABASE: "sqlite:<path>" or
// "mysql://user:pass@host[:port]/dbname[?tls=...]"; empty means SQLite in
// dataDir. Errors are modelkeep.ErrInvalid and never quote the URL, which may
// hold a password.
func parseURL(raw, dataDir string) (target, error) {
	switch {
	case raw == "":
		if dataDir == "" {
			dataDir = "."
		}
		return target{dialect: dialectSQLite, sqlitePath: filepath.Join(dataDir, "modelkeep.db")}, nil
	case strings.HasPrefix(raw, "sqlite:"):
		p := strings.TrimPrefix(raw, "sqlite:")
		switch {
		case p == "":
			return target{}, modelkeep.Errorf(modelkeep.ErrInvalid, "invalid database URL: sqlite: needs a file path")
		case strings.ContainsRune(p, '?'):
			// The driver takes everything after the first '?' as its options.
			return target{}, modelkeep.Errorf(modelkeep.ErrInvalid, "invalid database URL: the sqlite path must not contain '?'")
		case p == ":memory:" || strings.HasPrefix(p, "file:"):
			// Each pooled connection would get its own in-memory database.
			return target{}, modelkeep.Errorf(modelkeep.ErrInvalid, "invalid database URL: sqlite needs a plain file path")
		}
		return target{dialect: dialectSQLite, sqlitePath: filepath.Clean(p)}, nil
	case strings.HasPrefix(raw, "mysql://"):
		cfg, err := mysqlConfig(raw)
		if err != nil {
			return target{}, err
		}
		return target{dialect: dialectMySQL, mysql: cfg}, nil
	}
	return target{}, modelkeep.Errorf(modelkeep.ErrInvalid,
		"invalid database URL: want sqlite:<path> or mysql://user:pass@host:port/dbname")
}

// mysqlConfig converts a mysql:// URL to the driver's Config (rather than
// pasting a DSN together, which breaks on a password with '@', '/' or ':').
// Special characters in the user or password are percent-encoded in the URL.
func mysqlConfig(raw string) (*gomysql.Config, error) {
	u, err := url.Parse(raw)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // url.Error repeats the URL, password included
		}
		return nil, modelkeep.Errorf(modelkeep.ErrInvalid, "invalid database URL: %v", err)
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, modelkeep.Errorf(modelkeep.ErrInvalid, "invalid database URL: mysql:// needs a host")
	}
	db := strings.TrimPrefix(u.Path, "/")
	if db == "" || strings.Contains(db, "/") {
		return nil, modelkeep.Errorf(modelkeep.ErrInvalid, "invalid database URL: mysql:// needs a database name: mysql://user:pass@host:port/dbname")
	}
	port := u.Port()
	if port == "" {
		port = "3306"
	}

	cfg := gomysql.NewConfig()
	cfg.Net = "tcp"
	cfg.Addr = net.JoinHostPort(u.Hostname(), port)
	cfg.DBName = db
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
	}
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	cfg.Timeout = mysqlDialTimeout
	// UPDATE ... WHERE reports the rows it matched, not the rows it changed:
	// a compare-and-swap that writes the values already there still succeeds.
	cfg.ClientFoundRows = true
	// Placeholders are filled in by the driver (safely: utf8mb4 only), so a
	// query is one round trip instead of prepare, execute, close.
	cfg.InterpolateParams = true
	cfg.Params = map[string]string{
		"charset": "utf8mb4",
		// Strict: a value too long for its column is an error, never silently
		// truncated (a truncated audit field would break its hash). The same
		// on MySQL 8.4 and MariaDB whatever the server's default.
		"sql_mode": "'TRADITIONAL'",
		// The alias_names backfill (migrations/mysql/0046) builds each
		// version's list with GROUP_CONCAT, which MySQL 8.4 cuts at 1 KiB
		// by default (MariaDB at 1 MiB).
		"group_concat_max_len": "1048576",
	}
	for k, vs := range u.Query() {
		v := vs[len(vs)-1]
		switch k {
		case "tls":
			switch v {
			case "true", "false", "skip-verify", "preferred":
				cfg.TLSConfig = v
			default:
				return nil, modelkeep.Errorf(modelkeep.ErrInvalid, "invalid database URL: tls must be true, false, skip-verify or preferred")
			}
		default:
			return nil, modelkeep.Errorf(modelkeep.ErrInvalid, "invalid database URL: unknown option %q (supported: tls)", k)
		}
	}
	return cfg, nil
}

// sqliteDSN is the glebarez/go-sqlite (modernc) DSN for path: each _pragma
// runs on every new connection (WAL mode is the file's, set once by
// switchToWAL before the pool opens); _txlock=immediate makes every
// transaction take the write lock at BEGIN, so writers queue on busy_timeout
// instead of failing with SQLITE_BUSY when a read transaction tries to
// upgrade. (The driver's _time_format option is not used: it makes the
// driver skip _txlock.)
func sqliteDSN(path string) string {
	q := url.Values{
		"_pragma": {"busy_timeout(10000)", "foreign_keys(1)"},
		"_txlock": {"immediate"},
	}
	return path + "?" + q.Encode()
}
