package migrations_test

import (
	"slices"
	"testing"

	"github.com/modelkeep/modelkeep/migrations"
)

func TestLoad(t *testing.T) {
	for _, d := range migrations.Dialects() {
		t.Run(d, func(t *testing.T) {
			ms, err := migrations.Load(d)
			if err != nil {
				t.Fatal(err)
			}
			if len(ms) == 0 {
				t.Fatal("no migrations")
			}
			prev := 0
			for _, m := range ms {
				// Numbers run 1, 2, 3, ... so that a missing file shows;
				// branches developed side by side take blocks that start at
				// a multiple of ten (0070, ...), renumbered when merged.
				if m.Version != prev+1 && (m.Version%10 != 0 || m.Version < prev) {
					t.Errorf("%s: version %d, want %d (or the start of a block, a multiple of ten)", m.Name, m.Version, prev+1)
				}
				prev = m.Version
			}
		})
	}
}

// Both dialects must describe the same schema history: same numbers, same names.
func TestDialectsHaveSameMigrations(t *testing.T) {
	var want []string
	for i, d := range migrations.Dialects() {
		ms, err := migrations.Load(d)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, m := range ms {
			names = append(names, m.Name)
		}
		if i == 0 {
			want = names
			continue
		}
		if !slices.Equal(names, want) {
			t.Errorf("%s migrations %v, %s has %v", d, names, migrations.Dialects()[0], want)
		}
	}
}

// MySQL commits each DDL statement at once: a file of several statements could
// stop half applied and not run again, so each holds exactly one.
func TestMySQLOneStatementPerFile(t *testing.T) {
	ms, err := migrations.Load("mysql")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if len(m.Statements) != 1 {
			t.Errorf("mysql/%s has %d statements, want 1", m.Name, len(m.Statements))
		}
	}
}

func TestSplit(t *testing.T) {
	tests := []struct {
		name    string
		sql     string
		want    []string
		wantErr bool
	}{
		{name: "one", sql: "CREATE TABLE a (x INT);\n", want: []string{"CREATE TABLE a (x INT)"}},
		{
			name: "several with comments",
			sql:  "-- head\nCREATE TABLE a (\n  x INT -- inline\n);\n\n-- two\nCREATE INDEX i ON a (x);",
			want: []string{"CREATE TABLE a (\n  x INT -- inline\n)", "CREATE INDEX i ON a (x)"},
		},
		{name: "semicolon inside a line", sql: "INSERT INTO t VALUES ('a;b');\n", want: []string{"INSERT INTO t VALUES ('a;b')"}},
		{name: "trailing whitespace and CRLF", sql: "SELECT 1;  \r\nSELECT 2;\r\n", want: []string{"SELECT 1", "SELECT 2"}},
		{name: "only comments", sql: "-- nothing\n", want: nil},
		{name: "missing terminator", sql: "CREATE TABLE a (x INT)\n", wantErr: true},
		{name: "empty statement", sql: "SELECT 1;\n;\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := migrations.Split(tt.sql)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
