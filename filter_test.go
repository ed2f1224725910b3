package modelkeep

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
		target FilterTarget
		in     string
		want   string // canonical form
	}{
		{"issue example", FilterVersions,
			`tags.team = "risk" AND metrics.auc >= 0.9 AND stage IN ("staging","production")`,
			`tags.team = "risk" AND metrics.auc >= 0.9 AND stage IN ("staging", "production")`},
		{"AND binds tighter than OR", FilterVersions,
			`version = 1 OR version = 2 AND stage = "none"`,
			`version = 1 OR version = 2 AND stage = "none"`},
		{"parentheses kept where needed", FilterVersions,
			`(version = 1 OR version = 2) AND stage = "none"`,
			`(version = 1 OR version = 2) AND stage = "none"`},
		{"redundant parentheses dropped", FilterVersions, `((version = 1))`, `version = 1`},
		{"nested ANDs flattened", FilterVersions,
			`(version = 1 AND version = 2) AND (version = 3 AND version = 4)`,
			`version = 1 AND version = 2 AND version = 3 AND version = 4`},
		{"nested ORs flattened", FilterVersions,
			`version = 1 OR (version = 2 OR version = 3)`,
			`version = 1 OR version = 2 OR version = 3`},
		{"keywords in any case", FilterVersions,
			`version = 1 and stage = "none" Or version in (3, 4)`,
			`version = 1 AND stage = "none" OR version IN (3, 4)`},
		{"no spaces", FilterVersions, `version>=1 AND(version<=3)OR(stage="none")`, `version >= 1 AND version <= 3 OR stage = "none"`},
		{"operators", FilterVersions,
			`version != 1 AND version < 2 AND version <= 3 AND version > 4 AND version>=5`,
			`version != 1 AND version < 2 AND version <= 3 AND version > 4 AND version >= 5`},
		{"numbers", FilterVersions,
			`metrics.loss < -1.5e-3 AND metrics.x = .5 AND version > +3 AND metrics.y > 1E+21 AND metrics.z = 7.`,
			`metrics.loss < -0.0015 AND metrics.x = 0.5 AND version > 3 AND metrics.y > 1e+21 AND metrics.z = 7`},
		{"quoted keys", FilterVersions,
			`tags."cost center" = "x" AND metrics."val:auc" > 0.5 AND params.lr = "0.1"`,
			`tags."cost center" = "x" AND metrics."val:auc" > 0.5 AND params.lr = "0.1"`},
		{"bare keys with dots, dashes and slashes", FilterVersions,
			`tags.a.b-c/d = "x"`, `tags.a.b-c/d = "x"`},
		{"keyword-like keys", FilterVersions, `tags.and = "x"`, `tags.and = "x"`},
		{"string escapes", FilterModels,
			`name = "a\"b\\c\n\t\u00e9/\/"`, `name = "a\"b\\c\n\té//"`},
		{"LIKE escapes kept", FilterModels, `name LIKE "100\%\_x"`, `name LIKE "100\\%\\_x"`},
		{"dates", FilterVersions,
			`created_at >= "2025-01-31" AND finalized_at < "2025-01-31T12:00:00.1234567+01:00"`,
			`created_at >= "2025-01-31T00:00:00Z" AND finalized_at < "2025-01-31T11:00:00.123456Z"`},
		{"source fields", FilterVersions,
			`source.run_id = "r1" OR source.git_commit IN ("abc")`,
			`source.run_id = "r1" OR source.git_commit IN ("abc")`},
		{"model fields", FilterModels,
			`name LIKE "fraud%" AND tags.team != "risk" AND description LIKE "%x%" AND created_by = "a" AND updated_at > "2025-01-01T00:00:00Z"`,
			`name LIKE "fraud%" AND tags.team != "risk" AND description LIKE "%x%" AND created_by = "a" AND updated_at > "2025-01-01T00:00:00Z"`},
		{"unicode", FilterModels, `tags.team = "ürün 😀"`, `tags.team = "ürün 😀"`},
		{"blank", FilterVersions, " \t\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseFilter(tc.target, tc.in)
			if err != nil {
				t.Fatalf("ParseFilter(%q): %v", tc.in, err)
			}
			if got := f.String(); got != tc.want {
				t.Fatalf("ParseFilter(%q) = %s\nwant             %s", tc.in, got, tc.want)
			}
			// The canonical form reads back as the same tree.
			again, err := ParseFilter(tc.target, f.String())
			if err != nil || !reflect.DeepEqual(again, f) {
				t.Fatalf("reparse of %q = %v, %v", f.String(), again, err)
			}
		})
	}
}

func TestParseFilterTree(t *testing.T) {
	f, err := ParseFilter(FilterVersions, `tags.team = "risk" AND (metrics.auc >= 0.9 OR version IN (1, 2)) AND created_at < "2025-01-01"`)
	if err != nil {
		t.Fatal(err)
	}
	want := &Filter{Root: &FilterAnd{Terms: []FilterExpr{
		&Condition{Field: Field{Name: "tags", Key: "team"}, Type: FieldText, Op: OpEq, Values: []any{"risk"}},
		&FilterOr{Terms: []FilterExpr{
			&Condition{Field: Field{Name: "metrics", Key: "auc"}, Type: FieldNumber, Op: OpGe, Values: []any{0.9}},
			&Condition{Field: Field{Name: "version"}, Type: FieldInt, Op: OpIn, Values: []any{int64(1), int64(2)}},
		}},
		&Condition{Field: Field{Name: "created_at"}, Type: FieldTime, Op: OpLt, Values: []any{time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}},
	}}}
	if !reflect.DeepEqual(f, want) {
		t.Fatalf("tree = %#v", f.Root)
	}
}

func TestParseFilterErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		target FilterTarget
		in     string
		pos    int
		msg    string // part of the message
	}{
		{"unknown field", FilterVersions, `foo = 1`, 1, `unknown field "foo"`},
		{"field of the other list", FilterModels, `stage = "none"`, 1, `unknown field "stage"`},
		{"unknown prefix", FilterVersions, `source.branch = "x"`, 1, `unknown field "source.branch"`},
		{"bare word as value", FilterVersions, `tags.team = risk`, 13, `expected a double-quoted string`},
		{"missing operator", FilterVersions, `tags.team "x"`, 11, `expected an operator`},
		{"dangling AND", FilterVersions, `version = 1 AND`, 16, `expected a field name, found the end of the filter`},
		{"unclosed parenthesis", FilterVersions, `(version = 1`, 13, `expected ")" to close the "(" at position 1`},
		{"extra parenthesis", FilterVersions, `version = 1)`, 12, `expected AND, OR or the end`},
		{"two conditions without AND", FilterVersions, `version = 1 version = 2`, 13, `expected AND, OR or the end`},
		{"empty parentheses", FilterVersions, `()`, 2, `expected a field name`},
		{"LIKE on a number", FilterVersions, `metrics.auc LIKE "x"`, 13, `metrics.auc is a number: it takes =, !=, <, <=, >, >=, not LIKE`},
		{"IN on a metric", FilterVersions, `metrics.auc IN (1)`, 13, `not IN`},
		{"< on text", FilterVersions, `tags.team < "x"`, 11, `tags.team is text`},
		{"LIKE on an enum", FilterVersions, `stage LIKE "p%"`, 7, `not LIKE`},
		{"unknown stage", FilterVersions, `stage = "prod"`, 9, `"prod" is not a valid stage; want none, staging, production, archived`},
		{"unknown status in a list", FilterVersions, `status IN ("ready", "done")`, 21, `"done" is not a valid status`},
		{"fractional version", FilterVersions, `version = 1.5`, 11, `whole numbers`},
		{"quoted number", FilterVersions, `metrics.auc > "0.9"`, 15, `expected a number`},
		{"number for text", FilterModels, `name = 3`, 8, `expected a double-quoted string`},
		{"number glued to a word", FilterVersions, `version>=1AND(version<=3)`, 10, `invalid number "1AND"`},
		{"unquoted date", FilterVersions, `created_at > 2025-01-01`, 14, `times are strings`},
		{"bad time", FilterVersions, `finalized_at = "yesterday"`, 16, `not an RFC 3339 time`},
		{"time as number", FilterVersions, `created_at > 5`, 14, `expected a time in double quotes`},
		{"single quotes", FilterModels, `name = 'x'`, 8, `double quotes`},
		{"unclosed string", FilterModels, `name = "abc`, 8, `string is not closed`},
		{"backslash at the end", FilterModels, `name = "abc\`, 8, `string is not closed`},
		{"unknown escape", FilterModels, `name = "a\qb"`, 10, `unknown escape \q`},
		{"short \\u", FilterModels, `name = "\u12"`, 9, `four hex digits`},
		{"NUL escape", FilterModels, `name = "\u0000"`, 9, `\u0000 is not allowed`},
		{"surrogate", FilterModels, `name = "\ud800"`, 9, `surrogate`},
		{"control character", FilterModels, "name = \"a\x01\"", 10, `control character`},
		{"==", FilterModels, `name == "x"`, 6, `use "="`},
		{"<>", FilterModels, `name <> "x"`, 6, `use "!="`},
		{"lone !", FilterModels, `name ! "x"`, 6, `unexpected character '!'`},
		{"NOT", FilterModels, `NOT name = "x"`, 1, `NOT is not supported`},
		{"keyed field without key", FilterModels, `tags = "x"`, 1, `tags needs a key`},
		{"empty key", FilterModels, `tags. = "x"`, 1, `tags needs a key`},
		{"empty quoted key", FilterModels, `tags."" = "x"`, 1, `tags needs a key`},
		{"colon in tag key", FilterModels, `tags."a:b" = "x"`, 1, `cannot contain ':'`},
		{"long tag key", FilterModels, `tags.` + strings.Repeat("k", 129) + ` = "x"`, 1, `longer than 128 bytes`},
		{"quoted key on a plain field", FilterModels, `name."x" = "y"`, 1, `unknown field "name"`},
		{"LIKE with a lone backslash", FilterModels, `name LIKE "a\\"`, 11, `lone \`},
		{"empty IN", FilterVersions, `version IN ()`, 13, `expected a whole number`},
		{"IN without parentheses", FilterVersions, `version IN 1`, 12, `expected "(" after IN`},
		{"IN without comma", FilterVersions, `tags.x IN ("a" "b")`, 16, `expected "," or ")"`},
		{"huge number", FilterVersions, `metrics.auc > 1e999`, 15, `out of range`},
		{"huge version", FilterVersions, `version = 99999999999999999999`, 11, `whole numbers`},
		{"inf", FilterVersions, `metrics.auc > inf`, 15, `expected a number`},
		{"non-ASCII character", FilterModels, `é = 1`, 1, `unexpected character 'é'`},
		// Positions count characters, not bytes: ü is two bytes.
		{"position after multibyte", FilterModels, `name = "ü" AND foo = 1`, 16, `unknown field "foo"`},
		{"invalid UTF-8", FilterModels, "name = \"\xff\"", 9, `not valid UTF-8`},
		{"too long", FilterModels, `name = "` + strings.Repeat("x", MaxFilterLen) + `"`, MaxFilterLen + 1, `longer than 4096 bytes`},
		{"too deep", FilterVersions, strings.Repeat("(", MaxFilterDepth+1) + "version = 1" + strings.Repeat(")", MaxFilterDepth+1),
			MaxFilterDepth + 1, `nested deeper than 16`},
		{"too many conditions", FilterVersions, strings.Repeat("version = 1 AND ", MaxFilterConditions) + "version = 2",
			len("version = 1 AND ")*MaxFilterConditions + 1, `more than 32 conditions`},
		{"too many values", FilterVersions, "version IN (" + strings.Repeat("1, ", MaxFilterValues) + "1)",
			len("version IN (") + 3*MaxFilterValues + 1, `more than 100 values`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseFilter(tc.target, tc.in)
			if err == nil {
				t.Fatalf("ParseFilter(%q) = %s, want an error", tc.in, f)
			}
			checkFilterError(t, err, "filter", tc.pos, tc.msg)
		})
	}
}

func checkFilterError(t *testing.T, err error, param string, pos int, msg string) {
	t.Helper()
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
	var fe *FilterError
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v, want a *FilterError", err)
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
	if _, err := ParseFilter(FilterVersions, in); err != nil {
		t.Fatalf("depth %d: %v", MaxFilterDepth, err)
	}
	in = strings.Repeat("version = 1 OR ", MaxFilterConditions-1) + "version = 2"
	if _, err := ParseFilter(FilterVersions, in); err != nil {
		t.Fatalf("%d conditions: %v", MaxFilterConditions, err)
	}
}

func TestParseOrder(t *testing.T) {
	for _, tc := range []struct {
		target FilterTarget
		in     string
		want   Order
	}{
		{FilterModels, "", Order{}},
		{FilterModels, "name", Order{}}, // the default, however spelt
		{FilterModels, " name  asc ", Order{}},
		{FilterModels, "name desc", Order{Field: Field{Name: "name"}, Desc: true}},
		{FilterModels, "created_at", Order{Field: Field{Name: "created_at"}}},
		{FilterModels, "updated_at DESC", Order{Field: Field{Name: "updated_at"}, Desc: true}},
		{FilterVersions, "version DESC", Order{}},
		{FilterVersions, "version", Order{Field: Field{Name: "version"}}},
		{FilterVersions, "created_at DESC", Order{Field: Field{Name: "created_at"}, Desc: true}},
		{FilterVersions, "finalized_at asc", Order{Field: Field{Name: "finalized_at"}}},
		{FilterVersions, "metrics.auc DESC", Order{Field: Field{Name: "metrics", Key: "auc"}, Desc: true}},
		{FilterVersions, `metrics."val auc"`, Order{Field: Field{Name: "metrics", Key: "val auc"}}},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseOrder(tc.target, tc.in)
			if err != nil || got != tc.want {
				t.Fatalf("ParseOrder(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			}
			if again, err := ParseOrder(tc.target, got.String()); err != nil || again != got {
				t.Fatalf("reparse of %q = %+v, %v", got.String(), again, err)
			}
		})
	}
}

func TestParseOrderErrors(t *testing.T) {
	for _, tc := range []struct {
		target FilterTarget
		in     string
		pos    int
		msg    string
	}{
		{FilterModels, "description", 1, "cannot sort by description; sortable fields: created_at, name, updated_at"},
		{FilterVersions, "tags.team", 1, "cannot sort by tags.team"},
		{FilterVersions, "stage DESC", 1, "cannot sort by stage"},
		{FilterVersions, "metrics", 1, "metrics needs a key"},
		{FilterVersions, "nope", 1, `unknown field "nope"`},
		{FilterVersions, "created_at sideways", 12, `expected ASC, DESC or the end, found "sideways"`},
		{FilterVersions, "created_at DESC, version", 16, "order_by takes one field"},
		{FilterVersions, "DESC", 1, "expected a field name"},
		{FilterVersions, `"created_at"`, 1, "expected a field name"},
		{FilterVersions, "metrics." + strings.Repeat("k", MaxOrderByLen), MaxOrderByLen + 1, "longer than 512 bytes"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			o, err := ParseOrder(tc.target, tc.in)
			if err == nil {
				t.Fatalf("ParseOrder(%q) = %+v, want an error", tc.in, o)
			}
			checkFilterError(t, err, "order_by", tc.pos, tc.msg)
		})
	}
}

func TestListQueryTokens(t *testing.T) {
	q1, err := parseListQuery(FilterVersions, `stage = "none"`, "created_at DESC")
	if err != nil {
		t.Fatal(err)
	}
	// Spelling does not matter, meaning does.
	q2, err := parseListQuery(FilterVersions, ` stage="none" `, "created_at desc")
	if err != nil || q2.sum != q1.sum {
		t.Fatalf("same query, different fingerprints: %q %q (%v)", q1.sum, q2.sum, err)
	}
	q3, _ := parseListQuery(FilterVersions, `stage = "none"`, "created_at ASC")
	q4, _ := parseListQuery(FilterVersions, `stage = "staging"`, "created_at DESC")
	plain, _ := parseListQuery(FilterVersions, "", "version DESC")
	if q3.sum == q1.sum || q4.sum == q1.sum || plain.sum != "" {
		t.Fatalf("fingerprints %q %q %q %q", q1.sum, q3.sum, q4.sum, plain.sum)
	}

	now := time.Date(2025, 5, 6, 7, 8, 9, 123456000, time.UTC)
	tok := encodePageToken(q1.versionCursor(Version{Number: 7, CreatedAt: now}, nil))
	_, cur, err := startPage(10, tok)
	if err != nil {
		t.Fatal(err)
	}
	k, err := q1.after(tok, cur)
	if err != nil || k.Number != 7 || k.Value != now {
		t.Fatalf("after = %+v, %v", k, err)
	}
	for _, other := range []listQuery{q3, q4, plain} {
		if _, err := other.after(tok, cur); !errors.Is(err, ErrInvalid) {
			t.Fatalf("token of %q used for %q: %v", q1.order, other.order, err)
		}
	}

	// Metric orders carry the value, or that there was none.
	qm, _ := parseListQuery(FilterVersions, "", "metrics.auc DESC")
	v := 0.25
	for _, metric := range []*float64{&v, nil} {
		tok := encodePageToken(qm.versionCursor(Version{Number: 3}, metric))
		_, cur, _ := startPage(10, tok)
		k, err := qm.after(tok, cur)
		if err != nil || k.Number != 3 || (metric == nil) != (k.Value == nil) || metric != nil && k.Value != v {
			t.Fatalf("after(%v) = %+v, %v", metric, k, err)
		}
	}
}

// FuzzParseFilter checks that no input crashes the parsers, that errors are
// ErrInvalid with a position inside the input, and that whatever parses has a
// canonical form that parses back to the same tree.
//
//	go test -run '^$' -fuzz FuzzParseFilter -fuzztime 60s .
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
		for _, target := range []FilterTarget{FilterModels, FilterVersions} {
			flt, err := ParseFilter(target, s)
			if err != nil {
				checkFuzzError(t, s, err)
			} else if flt != nil {
				canon := flt.String()
				again, err := ParseFilter(target, canon)
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
	var fe *FilterError
	if !errors.Is(err, ErrInvalid) || !errors.As(err, &fe) {
		t.Fatalf("%q: err = %v, want ErrInvalid with a *FilterError", s, err)
	}
	if fe.Pos < 1 || fe.Pos > utf8.RuneCountInString(s)+1 {
		t.Fatalf("%q: position %d outside the input", s, fe.Pos)
	}
}

func BenchmarkParseFilter(b *testing.B) {
	src := `tags.team = "risk" AND (metrics.auc >= 0.9 OR params.lr IN ("0.1", "0.01")) AND stage IN ("staging", "production") AND created_at > "2025-01-01"`
	for b.Loop() {
		if _, err := ParseFilter(FilterVersions, src); err != nil {
			b.Fatal(err)
		}
	}
}
