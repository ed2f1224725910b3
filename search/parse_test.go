package search

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestParseFilter(t *testing.T) {
	for _, tc := range []struct {
		name   string
		schema Schema
		in     string
		want   string // canonical form
	}{
		{"issue example", versions,
			`tags.team = "risk" AND metrics.auc >= 0.9 AND stage IN ("staging","production")`,
			`tags.team = "risk" AND metrics.auc >= 0.9 AND stage IN ("staging", "production")`},
		{"AND binds tighter than OR", versions,
			`version = 1 OR version = 2 AND stage = "none"`,
			`version = 1 OR version = 2 AND stage = "none"`},
		{"parentheses kept where needed", versions,
			`(version = 1 OR version = 2) AND stage = "none"`,
			`(version = 1 OR version = 2) AND stage = "none"`},
		{"redundant parentheses dropped", versions, `((version = 1))`, `version = 1`},
		{"nested ANDs flattened", versions,
			`(version = 1 AND version = 2) AND (version = 3 AND version = 4)`,
			`version = 1 AND version = 2 AND version = 3 AND version = 4`},
		{"nested ORs flattened", versions,
			`version = 1 OR (version = 2 OR version = 3)`,
			`version = 1 OR version = 2 OR version = 3`},
		{"keywords in any case", versions,
			`version = 1 and stage = "none" Or version in (3, 4)`,
			`version = 1 AND stage = "none" OR version IN (3, 4)`},
		{"no spaces", versions, `version>=1 AND(version<=3)OR(stage="none")`, `version >= 1 AND version <= 3 OR stage = "none"`},
		{"operators", versions,
			`version != 1 AND version < 2 AND version <= 3 AND version > 4 AND version>=5`,
			`version != 1 AND version < 2 AND version <= 3 AND version > 4 AND version >= 5`},
		{"numbers", versions,
			`metrics.loss < -1.5e-3 AND metrics.x = .5 AND version > +3 AND metrics.y > 1E+21 AND metrics.z = 7.`,
			`metrics.loss < -0.0015 AND metrics.x = 0.5 AND version > 3 AND metrics.y > 1e+21 AND metrics.z = 7`},
		{"quoted keys", versions,
			`tags."cost center" = "x" AND metrics."val:auc" > 0.5 AND params.lr = "0.1"`,
			`tags."cost center" = "x" AND metrics."val:auc" > 0.5 AND params.lr = "0.1"`},
		{"bare keys with dots, dashes and slashes", versions,
			`tags.a.b-c/d = "x"`, `tags.a.b-c/d = "x"`},
		{"keyword-like keys", versions, `tags.and = "x"`, `tags.and = "x"`},
		{"string escapes", models,
			`name = "a\"b\\c\n\t\u00e9/\/"`, `name = "a\"b\\c\n\té//"`},
		{"LIKE escapes kept", models, `name LIKE "100\%\_x"`, `name LIKE "100\\%\\_x"`},
		{"dates", versions,
			`created_at >= "2025-01-31" AND finalized_at < "2025-01-31T12:00:00.1234567+01:00"`,
			`created_at >= "2025-01-31T00:00:00Z" AND finalized_at < "2025-01-31T11:00:00.123456Z"`},
		{"source fields", versions,
			`source.run_id = "r1" OR source.git_commit IN ("abc")`,
			`source.run_id = "r1" OR source.git_commit IN ("abc")`},
		{"model fields", models,
			`name LIKE "fraud%" AND tags.team != "risk" AND description LIKE "%x%" AND created_by = "a" AND updated_at > "2025-01-01T00:00:00Z"`,
			`name LIKE "fraud%" AND tags.team != "risk" AND description LIKE "%x%" AND created_by = "a" AND updated_at > "2025-01-01T00:00:00Z"`},
		{"unicode", models, `tags.team = "ürün 😀"`, `tags.team = "ürün 😀"`},
		{"== is =", versions, `version == 1 AND tags.team=="risk"`, `version = 1 AND tags.team = "risk"`},
		{"blank", versions, " \t\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse(tc.schema, tc.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			if got := f.String(); got != tc.want {
				t.Fatalf("Parse(%q) = %s\nwant             %s", tc.in, got, tc.want)
			}
			// The canonical form reads back as the same tree.
			again, err := Parse(tc.schema, f.String())
			if err != nil || !reflect.DeepEqual(again, f) {
				t.Fatalf("reparse of %q = %v, %v", f.String(), again, err)
			}
		})
	}
}

func TestParseFilterTree(t *testing.T) {
	f, err := Parse(versions, `tags.team = "risk" AND (metrics.auc >= 0.9 OR version IN (1, 2)) AND created_at < "2025-01-01"`)
	if err != nil {
		t.Fatal(err)
	}
	want := &Filter{Root: &And{Terms: []Expr{
		&Condition{Field: Field{Name: "tags", Key: "team"}, Type: Text, Op: OpEq, Values: []any{"risk"}},
		&Or{Terms: []Expr{
			&Condition{Field: Field{Name: "metrics", Key: "auc"}, Type: Number, Op: OpGe, Values: []any{0.9}},
			&Condition{Field: Field{Name: "version"}, Type: Int, Op: OpIn, Values: []any{int64(1), int64(2)}},
		}},
		&Condition{Field: Field{Name: "created_at"}, Type: Time, Op: OpLt, Values: []any{time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}},
	}}}
	if !reflect.DeepEqual(f, want) {
		t.Fatalf("tree = %#v", f.Root)
	}
}

func TestParseFilterErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		schema Schema
		in     string
		pos    int
		msg    string // part of the message
	}{
		{"unknown field", versions, `foo = 1`, 1, `unknown field "foo"`},
		{"field of the other list", models, `stage = "none"`, 1, `unknown field "stage"`},
		{"unknown prefix", versions, `source.branch = "x"`, 1, `unknown field "source.branch"`},
		{"bare word as value", versions, `tags.team = risk`, 13, `expected a double-quoted string`},
		{"missing operator", versions, `tags.team "x"`, 11, `expected an operator`},
		{"dangling AND", versions, `version = 1 AND`, 16, `expected a field name, found the end of the filter`},
		{"unclosed parenthesis", versions, `(version = 1`, 13, `expected ")" to close the "(" at position 1`},
		{"extra parenthesis", versions, `version = 1)`, 12, `expected AND, OR or the end`},
		{"two conditions without AND", versions, `version = 1 version = 2`, 13, `expected AND, OR or the end`},
		{"empty parentheses", versions, `()`, 2, `expected a field name`},
		{"LIKE on a number", versions, `metrics.auc LIKE "x"`, 13, `metrics.auc is a number: it takes =, !=, <, <=, >, >=, not LIKE`},
		{"IN on a metric", versions, `metrics.auc IN (1)`, 13, `not IN`},
		{"< on text", versions, `tags.team < "x"`, 11, `tags.team is text`},
		{"LIKE on an enum", versions, `stage LIKE "p%"`, 7, `not LIKE`},
		{"unknown stage", versions, `stage = "prod"`, 9, `"prod" is not a valid stage; want none, staging, production, archived`},
		{"unknown status in a list", versions, `status IN ("ready", "done")`, 21, `"done" is not a valid status`},
		{"fractional version", versions, `version = 1.5`, 11, `whole numbers`},
		{"quoted number", versions, `metrics.auc > "0.9"`, 15, `expected a number`},
		{"number for text", models, `name = 3`, 8, `expected a double-quoted string`},
		{"number glued to a word", versions, `version>=1AND(version<=3)`, 10, `invalid number "1AND"`},
		{"unquoted date", versions, `created_at > 2025-01-01`, 14, `times are strings`},
		{"bad time", versions, `finalized_at = "yesterday"`, 16, `not an RFC 3339 time`},
		{"time as number", versions, `created_at > 5`, 14, `expected a time in double quotes`},
		{"single quotes", models, `name = 'x'`, 8, `double quotes`},
		{"unclosed string", models, `name = "abc`, 8, `string is not closed`},
		{"backslash at the end", models, `name = "abc\`, 8, `string is not closed`},
		{"unknown escape", models, `name = "a\qb"`, 10, `unknown escape \q`},
		{"short \\u", models, `name = "\u12"`, 9, `four hex digits`},
		{"NUL escape", models, `name = "\u0000"`, 9, `\u0000 is not allowed`},
		{"surrogate", models, `name = "\ud800"`, 9, `surrogate`},
		{"control character", models, "name = \"a\x01\"", 10, `control character`},
		{"<>", models, `name <> "x"`, 6, `use "!="`},
		{"lone !", models, `name ! "x"`, 6, `unexpected character '!'`},
		{"NOT", models, `NOT name = "x"`, 1, `NOT is not supported`},
		{"keyed field without key", models, `tags = "x"`, 1, `tags needs a key`},
		{"empty key", models, `tags. = "x"`, 1, `tags needs a key`},
		{"empty quoted key", models, `tags."" = "x"`, 1, `tags needs a key`},
		{"colon in tag key", models, `tags."a:b" = "x"`, 1, `cannot contain ':'`},
		{"long tag key", models, `tags.` + strings.Repeat("k", 129) + ` = "x"`, 1, `longer than 128 bytes`},
		{"quoted key on a plain field", models, `name."x" = "y"`, 1, `unknown field "name"`},
		{"LIKE with a lone backslash", models, `name LIKE "a\\"`, 11, `lone \`},
		{"empty IN", versions, `version IN ()`, 13, `expected a whole number`},
		{"IN without parentheses", versions, `version IN 1`, 12, `expected "(" after IN`},
		{"IN without comma", versions, `tags.x IN ("a" "b")`, 16, `expected "," or ")"`},
		{"huge number", versions, `metrics.auc > 1e999`, 15, `out of range`},
		{"huge version", versions, `version = 99999999999999999999`, 11, `whole numbers`},
		{"inf", versions, `metrics.auc > inf`, 15, `expected a number`},
		{"non-ASCII character", models, `é = 1`, 1, `unexpected character 'é'`},
		// Positions count characters, not bytes: ü is two bytes.
		{"position after multibyte", models, `name = "ü" AND foo = 1`, 16, `unknown field "foo"`},
		{"invalid UTF-8", models, "name = \"\xff\"", 9, `not valid UTF-8`},
		{"too long", models, `name = "` + strings.Repeat("x", MaxFilterLen) + `"`, MaxFilterLen + 1, `longer than 4096 bytes`},
		{"too deep", versions, strings.Repeat("(", MaxFilterDepth+1) + "version = 1" + strings.Repeat(")", MaxFilterDepth+1),
			MaxFilterDepth + 1, `nested deeper than 16`},
		{"too many conditions", versions, strings.Repeat("version = 1 AND ", MaxFilterConditions) + "version = 2",
			len("version = 1 AND ")*MaxFilterConditions + 1, `more than 32 conditions`},
		{"too many values", versions, "version IN (" + strings.Repeat("1, ", MaxFilterValues) + "1)",
			len("version IN (") + 3*MaxFilterValues + 1, `more than 100 values`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse(tc.schema, tc.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %s, want an error", tc.in, f)
			}
			checkFilterError(t, err, "filter", tc.pos, tc.msg)
		})
	}
}

func checkFilterError(t *testing.T, err error, param string, pos int, msg string) {
	t.Helper()
	var fe *Error
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v, want a *Error", err)
	}
	if fe.Param != param || fe.Pos != pos || !strings.Contains(fe.Msg, msg) {
		t.Fatalf("err = %v (param %s, position %d), want %s at position %d with %q", err, fe.Param, fe.Pos, param, pos, msg)
	}
	if !strings.HasPrefix(err.Error(), "invalid "+param+" at position ") {
		t.Fatalf("message %q does not name the position", err)
	}
}

func TestParseFilterDepthLimitIsInclusive(t *testing.T) {
	in := strings.Repeat("(", MaxFilterDepth) + "version = 1" + strings.Repeat(")", MaxFilterDepth)
	if _, err := Parse(versions, in); err != nil {
		t.Fatalf("depth %d: %v", MaxFilterDepth, err)
	}
	in = strings.Repeat("version = 1 OR ", MaxFilterConditions-1) + "version = 2"
	if _, err := Parse(versions, in); err != nil {
		t.Fatalf("%d conditions: %v", MaxFilterConditions, err)
	}
}

func TestParseOrder(t *testing.T) {
	for _, tc := range []struct {
		schema Schema
		in     string
		want   Order
	}{
		{models, "", Order{}},
		{models, "name", Order{}}, // the default, however spelt
		{models, " name  asc ", Order{}},
		{models, "name desc", Order{Field: Field{Name: "name"}, Desc: true}},
		{models, "created_at", Order{Field: Field{Name: "created_at"}}},
		{models, "updated_at DESC", Order{Field: Field{Name: "updated_at"}, Desc: true}},
		{versions, "version DESC", Order{}},
		{versions, "version", Order{Field: Field{Name: "version"}}},
		{versions, "created_at DESC", Order{Field: Field{Name: "created_at"}, Desc: true}},
		{versions, "finalized_at asc", Order{Field: Field{Name: "finalized_at"}}},
		{versions, "metrics.auc DESC", Order{Field: Field{Name: "metrics", Key: "auc"}, Desc: true}},
		{versions, `metrics."val auc"`, Order{Field: Field{Name: "metrics", Key: "val auc"}}},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseOrder(tc.schema, tc.in)
			if err != nil || got != tc.want {
				t.Fatalf("ParseOrder(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			}
			if again, err := ParseOrder(tc.schema, got.String()); err != nil || again != got {
				t.Fatalf("reparse of %q = %+v, %v", got.String(), again, err)
			}
		})
	}
}

func TestParseOrderErrors(t *testing.T) {
	for _, tc := range []struct {
		schema Schema
		in     string
		pos    int
		msg    string
	}{
		{models, "description", 1, "cannot sort by description; sortable fields: created_at, name, updated_at"},
		{versions, "tags.team", 1, "cannot sort by tags.team"},
		{versions, "stage DESC", 1, "cannot sort by stage"},
		{versions, "metrics", 1, "metrics needs a key"},
		{versions, "nope", 1, `unknown field "nope"`},
		{versions, "created_at sideways", 12, `expected ASC, DESC or the end, found "sideways"`},
		{versions, "created_at DESC, version", 16, "order_by takes one field"},
		{versions, "DESC", 1, "expected a field name"},
		{versions, `"created_at"`, 1, "expected a field name"},
		{versions, "metrics." + strings.Repeat("k", MaxOrderByLen), MaxOrderByLen + 1, "longer than 512 bytes"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			o, err := ParseOrder(tc.schema, tc.in)
			if err == nil {
				t.Fatalf("ParseOrder(%q) = %+v, want an error", tc.in, o)
			}
			checkFilterError(t, err, "order_by", tc.pos, tc.msg)
		})
	}
}

// FuzzParseFilter checks that no input crashes the parsers, that errors are
// *Error with a position inside the input, and that whatever parses has a
// canonical form that parses back to the same tree.
//
//	go test -run '^$' -fuzz FuzzParseFilter -fuzztime 60s ./search
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{
		`tags.team = "risk" AND metrics.auc >= 0.9 AND stage IN ("staging","production")`,
		`(version < 3 OR name LIKE "a\%b_") AND created_at > "2025-01-01"`,
		`tags."a \"b\"" != "\u00e9\n" or params.lr in ("1", "2")`,
		`metrics.loss DESC`,
		`finalized_at >= "2025-01-31T12:00:00.123+02:00"`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, target := range []Schema{models, versions} {
			flt, err := Parse(target, s)
			if err != nil {
				checkFuzzError(t, s, err)
			} else if flt != nil {
				canon := flt.String()
				again, err := Parse(target, canon)
				if err != nil {
					t.Fatalf("canonical form %q of %q does not parse: %v", canon, s, err)
				}
				if !reflect.DeepEqual(again, flt) || again.String() != canon {
					t.Fatalf("canonical form %q of %q parses to %q", canon, s, again)
				}
			}
			o, err := ParseOrder(target, s)
			if err != nil {
				checkFuzzError(t, s, err)
			} else if again, err := ParseOrder(target, o.String()); err != nil || again != o {
				t.Fatalf("order %q of %q reparses to %+v, %v", o, s, again, err)
			}
		}
	})
}

func checkFuzzError(t *testing.T, s string, err error) {
	t.Helper()
	var fe *Error
	if !errors.As(err, &fe) {
		t.Fatalf("%q: err = %v, want a *Error", s, err)
	}
	if fe.Pos < 1 || fe.Pos > utf8.RuneCountInString(s)+1 {
		t.Fatalf("%q: position %d outside the input", s, fe.Pos)
	}
}

func BenchmarkParseFilter(b *testing.B) {
	src := `tags.team = "risk" AND (metrics.auc >= 0.9 OR params.lr IN ("0.1", "0.01")) AND stage IN ("staging", "production") AND created_at > "2025-01-01"`
	for b.Loop() {
		if _, err := Parse(versions, src); err != nil {
			b.Fatal(err)
		}
	}
}

// models and versions are schemas shaped like the registry's two lists
// (package modelkeep keeps the real ones): every type, keyed fields with
// and without forbidden key characters, sortable and unsortable fields.
var (
	models = Schema{
		Fields: map[string]FieldSpec{
			"name":        {Type: Text, Sortable: true},
			"description": {Type: Text},
			"created_by":  {Type: Text},
			"created_at":  {Type: Time, Sortable: true},
			"updated_at":  {Type: Time, Sortable: true},
			"tags":        {Type: Text, Keyed: true, MaxKey: 128, KeyForbids: ":\x00"},
		},
		DefaultOrder: Order{Field: Field{Name: "name"}},
	}
	versions = Schema{
		Fields: map[string]FieldSpec{
			"version":           {Type: Int, Sortable: true},
			"status":            {Type: Enum, Enum: []string{"pending", "ready"}},
			"stage":             {Type: Enum, Enum: []string{"none", "staging", "production", "archived"}},
			"created_by":        {Type: Text},
			"created_at":        {Type: Time, Sortable: true},
			"finalized_at":      {Type: Time, Sortable: true},
			"source.run_id":     {Type: Text},
			"source.git_commit": {Type: Text},
			"tags":              {Type: Text, Keyed: true, MaxKey: 128, KeyForbids: ":\x00"},
			"params":            {Type: Text, Keyed: true, MaxKey: 128, KeyForbids: ":\x00"},
			"metrics":           {Type: Number, Keyed: true, MaxKey: 255, Sortable: true},
		},
		DefaultOrder: Order{Field: Field{Name: "version"}, Desc: true},
	}
)
