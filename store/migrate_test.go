package store

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/modelkeep/modelkeep/audit"

	"gorm.io/gorm"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/migrations"
)

func TestMigrateIsIdempotent(t *testing.T) {
	forEachEmptyDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		dbURL := newURL(t)
		first, err := Open(t.Context(), Options{URL: dbURL, Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		mustCreateModel(t, first, "kept", nil)
		if err := first.Close(); err != nil {
			t.Fatal(err)
		}

		s := openStore(t, dbURL) // migrates again: nothing to do
		if err := s.migrate(t.Context()); err != nil {
			t.Fatalf("third migrate: %v", err)
		}
		all, err := migrations.Load(s.dialect)
		if err != nil {
			t.Fatal(err)
		}
		var applied []int
		if err := s.db.Model(&migrationRow{}).Order("version").Pluck("version", &applied).Error; err != nil {
			t.Fatal(err)
		}
		var want []int
		for _, m := range all {
			want = append(want, m.Version)
		}
		if !slices.Equal(applied, want) {
			t.Errorf("schema_migrations = %v, want %v", applied, want)
		}
		if _, err := s.GetModel(t.Context(), "kept"); err != nil {
			t.Errorf("data lost by migrating again: %v", err)
		}
		seq, hash, err := s.AuditHead(t.Context())
		if err != nil || seq != 0 || hash != audit.GenesisHash {
			t.Errorf("audit head = %d %q %v, want 0 and the genesis hash", seq, hash, err)
		}
	})
}

func TestOpenRefusesUnknownMigration(t *testing.T) {
	forEachEmptyDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		dbURL := newURL(t)
		s, err := Open(t.Context(), Options{URL: dbURL, Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		// What a newer Modelkeep would have left behind.
		if err := s.db.Create(&migrationRow{Version: 9999, AppliedAt: s.nowUTC()}).Error; err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}

		s, err = Open(t.Context(), Options{URL: dbURL, Logger: testLogger(t)})
		if err == nil {
			s.Close()
			t.Fatal("Open succeeded on a database with an unknown migration")
		}
		if !strings.Contains(err.Error(), "9999") {
			t.Errorf("error %q does not name the unknown migration", err)
		}
	})
}

// The schema comes from migrations/, the rows from Go: every field of every
// row struct must have its column, and every column its field.
func TestRowsMatchSchema(t *testing.T) {
	rows := []any{
		&migrationRow{}, &modelRow{}, &modelTagRow{}, &versionRow{}, &fileRow{},
		&aliasRow{}, &auditEventRow{}, &auditHeadRow{}, &tokenRow{},
		&transitionRow{}, &approvalRow{}, &policyRow{}, &deploymentRow{}, &metricRow{},
		&datasetRow{}, &runRow{}, &lineageEdgeRow{},
		&documentRow{}, &signoffRow{}, &cardRevisionRow{}, &exemptionRow{}, &packRow{},
		&webSessionRow{}, &oidcLoginRow{}, &pageTokenKeyRow{},
		&uploadRow{}, &uploadPartRow{},
	}
	forEachEmptyDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		m := s.db.Migrator()
		for _, row := range rows {
			stmt := &gorm.Statement{DB: s.db}
			if err := stmt.Parse(row); err != nil {
				t.Fatal(err)
			}
			table := stmt.Schema.Table
			t.Run(table, func(t *testing.T) {
				if !m.HasTable(row) {
					t.Fatalf("table %s missing", table)
				}
				fields := map[string]bool{}
				for _, f := range stmt.Schema.Fields {
					if f.DBName == "" {
						continue
					}
					fields[f.DBName] = true
					if !m.HasColumn(row, f.DBName) {
						t.Errorf("%s.%s (field %s) has no column", table, f.DBName, f.Name)
					}
				}
				cols, err := m.ColumnTypes(row)
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range cols {
					if !fields[c.Name()] {
						t.Errorf("column %s.%s has no field in %T", table, c.Name(), row)
					}
				}
			})
		}
	})
}

func TestSQLitePragmas(t *testing.T) {
	s := openStore(t, "sqlite:"+t.TempDir()+"/m.db")
	tests := []struct {
		pragma string
		want   string
	}{
		{"foreign_keys", "1"},
		{"journal_mode", "wal"},
		{"busy_timeout", "10000"},
	}
	for _, tt := range tests {
		t.Run(tt.pragma, func(t *testing.T) {
			var got string
			if err := s.db.Raw("PRAGMA " + tt.pragma).Scan(&got).Error; err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("PRAGMA %s = %q, want %q", tt.pragma, got, tt.want)
			}
		})
	}
}

func TestOpenUnreachableMySQL(t *testing.T) {
	// Port 1 on loopback: nothing listens there, the dial is refused at once.
	_, err := Open(t.Context(), Options{URL: "mysql://mk:s3cret-pw@127.0.0.1:1/modelkeep", Logger: testLogger(t)})
	wantErrIs(t, err, modelkeep.ErrUnavailable)
	if strings.Contains(err.Error(), "s3cret-pw") {
		t.Errorf("error shows the password: %v", err)
	}
	var domain *modelkeep.Error
	if !errors.As(err, &domain) || strings.Contains(domain.Error(), "127.0.0.1") {
		t.Errorf("user-facing message %q should not name the server", domain)
	}
}

func TestParseURL(t *testing.T) {
	tests := []struct {
		name       string
		url        string
		dataDir    string
		wantSQLite string
		wantAddr   string
		wantUser   string
		wantPass   string
		wantDB     string
		wantTLS    string
		wantErr    bool
	}{
		{name: "default", url: "", dataDir: "/var/lib/mk", wantSQLite: "/var/lib/mk/modelkeep.db"},
		{name: "sqlite", url: "sqlite:./data/x.db", wantSQLite: "data/x.db"},
		{name: "sqlite absolute", url: "sqlite:/tmp/x.db", wantSQLite: "/tmp/x.db"},
		{name: "sqlite empty path", url: "sqlite:", wantErr: true},
		{name: "sqlite with query", url: "sqlite:x.db?mode=ro", wantErr: true},
		{name: "sqlite memory", url: "sqlite::memory:", wantErr: true},
		{
			name: "mysql", url: "mysql://mk:pw@db.internal:3307/registry",
			wantAddr: "db.internal:3307", wantUser: "mk", wantPass: "pw", wantDB: "registry",
		},
		{
			name: "mysql default port", url: "mysql://mk:pw@db/registry",
			wantAddr: "db:3306", wantUser: "mk", wantPass: "pw", wantDB: "registry",
		},
		{
			name: "mysql special password", url: "mysql://mk:p%40ss%2Fw%3Ard%3F@127.0.0.1:3306/registry",
			wantAddr: "127.0.0.1:3306", wantUser: "mk", wantPass: "p@ss/w:rd?", wantDB: "registry",
		},
		{
			name: "mysql ipv6", url: "mysql://mk:pw@[::1]:3306/registry",
			wantAddr: "[::1]:3306", wantUser: "mk", wantPass: "pw", wantDB: "registry",
		},
		{
			name: "mysql tls", url: "mysql://mk:pw@db:3306/registry?tls=true",
			wantAddr: "db:3306", wantUser: "mk", wantPass: "pw", wantDB: "registry", wantTLS: "true",
		},
		{name: "mysql no database", url: "mysql://mk:pw@db:3306/", wantErr: true},
		{name: "mysql no host", url: "mysql:///registry", wantErr: true},
		{name: "mysql bad port", url: "mysql://mk:secret@db:port/registry", wantErr: true},
		{name: "mysql unknown option", url: "mysql://mk:pw@db/registry?foo=1", wantErr: true},
		{name: "mysql bad tls", url: "mysql://mk:pw@db/registry?tls=maybe", wantErr: true},
		{name: "postgres", url: "postgres://u:p@h/db", wantErr: true},
		{name: "no scheme", url: "modelkeep.db", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseURL(tt.url, tt.dataDir)
			if tt.wantErr {
				wantErrIs(t, err, modelkeep.ErrInvalid)
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("error shows the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantSQLite != "" {
				if got.dialect != dialectSQLite || got.sqlitePath != tt.wantSQLite {
					t.Errorf("got %s %q, want sqlite %q", got.dialect, got.sqlitePath, tt.wantSQLite)
				}
				return
			}
			c := got.mysql
			if got.dialect != dialectMySQL || c.Addr != tt.wantAddr || c.User != tt.wantUser ||
				c.Passwd != tt.wantPass || c.DBName != tt.wantDB || c.TLSConfig != tt.wantTLS {
				t.Errorf("got %s addr=%q user=%q pass=%q db=%q tls=%q", got.dialect, c.Addr, c.User, c.Passwd, c.DBName, c.TLSConfig)
			}
			if !c.ParseTime || c.Loc.String() != "UTC" || c.Params["charset"] != "utf8mb4" || !c.ClientFoundRows {
				t.Errorf("driver settings: parseTime=%v loc=%v charset=%q clientFoundRows=%v",
					c.ParseTime, c.Loc, c.Params["charset"], c.ClientFoundRows)
			}
		})
	}
}

// Replicas starting together against a fresh database: each migration runs
// once (MySQL: a named lock; SQLite: IMMEDIATE transactions) and all start.
func TestConcurrentOpen(t *testing.T) {
	forEachEmptyDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		dbURL := newURL(t)
		const n = 4
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				s, err := Open(t.Context(), Options{URL: dbURL, Logger: testLogger(t)})
				if err == nil {
					err = s.Close()
				}
				errs[i] = err
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
		s := openStore(t, dbURL)
		var count int64
		if err := s.db.Model(&migrationRow{}).Count(&count).Error; err != nil {
			t.Fatal(err)
		}
		all, _ := migrations.Load(s.dialect)
		if int(count) != len(all) {
			t.Errorf("%d schema_migrations rows, want %d", count, len(all))
		}
	})
}
