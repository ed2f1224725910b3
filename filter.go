package modelkeep

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Filter expressions select the items of a list call (?filter=, see
// docs/search.md): `tags.team = "risk" AND metrics.auc >= 0.9`. This file
// holds the grammar: a hand-written lexer and recursive-descent parser that
// turn the text into a typed tree, checking each field against its operators
// and values. The tree says nothing about SQL; package store compiles it to
// parameterised queries, taking identifiers only from its own allow-list.

// Limits on a filter, so that one request cannot make the database evaluate
// an unbounded expression.
const (
	MaxFilterLen        = 4096 // bytes
	MaxFilterDepth      = 16   // nested parentheses
	MaxFilterConditions = 32   // comparisons in one filter
	MaxFilterValues     = 100  // values in one IN list
	MaxOrderByLen       = 512  // bytes of an order_by
)

// FilterTarget says which list a filter or order applies to: each has its
// own fields.
type FilterTarget int

const (
	FilterModels FilterTarget = iota + 1
	FilterVersions
)

// FieldType is the kind of value a field holds; it decides which operators
// and literals a condition on it may use.
type FieldType int

const (
	// FieldText compares with =, !=, IN and LIKE against strings.
	FieldText FieldType = iota + 1
	// FieldEnum is text restricted to a few words (stage, status): =, != and
	// IN against one of them.
	FieldEnum
	// FieldInt (version numbers) compares with =, !=, <, <=, >, >= and IN
	// against whole numbers.
	FieldInt
	// FieldNumber (metric values) compares with =, !=, <, <=, >, >= against
	// numbers.
	FieldNumber
	// FieldTime compares with =, !=, <, <=, >, >= against RFC 3339 times
	// written as strings.
	FieldTime
)

// Operator is a comparison in a condition.
type Operator string

const (
	OpEq   Operator = "="
	OpNe   Operator = "!="
	OpLt   Operator = "<"
	OpLe   Operator = "<="
	OpGt   Operator = ">"
	OpGe   Operator = ">="
	OpIn   Operator = "IN"
	OpLike Operator = "LIKE"
)

// fieldSpec describes one field of a filter target.
type fieldSpec struct {
	typ      FieldType
	enum     []string // the words a FieldEnum takes
	keyed    bool     // tags.<key>, params.<key>, metrics.<key>
	maxKey   int      // longest key in bytes, for keyed fields
	sortable bool     // allowed in order_by
}

var (
	modelFields = map[string]fieldSpec{
		"name":        {typ: FieldText, sortable: true},
		"description": {typ: FieldText},
		"created_by":  {typ: FieldText},
		"created_at":  {typ: FieldTime, sortable: true},
		"updated_at":  {typ: FieldTime, sortable: true},
		"tags":        {typ: FieldText, keyed: true, maxKey: MaxTagKeyLen},
	}
	versionFields = map[string]fieldSpec{
		"version":           {typ: FieldInt, sortable: true},
		"status":            {typ: FieldEnum, enum: []string{string(StatusPending), string(StatusReady)}},
		"stage":             {typ: FieldEnum, enum: stageNames()},
		"created_by":        {typ: FieldText},
		"created_at":        {typ: FieldTime, sortable: true},
		"finalized_at":      {typ: FieldTime, sortable: true},
		"source.run_id":     {typ: FieldText},
		"source.git_commit": {typ: FieldText},
		"tags":              {typ: FieldText, keyed: true, maxKey: MaxTagKeyLen},
		"params":            {typ: FieldText, keyed: true, maxKey: MaxTagKeyLen},
		"metrics":           {typ: FieldNumber, keyed: true, maxKey: MaxMetricKeyLen, sortable: true},
	}
)

// MaxMetricKeyLen is the longest metric key, in bytes: metrics, gates,
// comparisons and filters all keep to it.
const MaxMetricKeyLen = 255

// ValidateMetricKey checks a metric key named field: 1 to MaxMetricKeyLen
// bytes, no whitespace at either end (MySQL compares keys ignoring trailing
// spaces and SQLite does not: "auc " and "auc" would be one metric on one
// database and two on the other).
func ValidateMetricKey(field, key string) error {
	switch {
	case key == "" || len(key) > MaxMetricKeyLen:
		return Errorf(ErrInvalid, "%s: a metric key of 1 to %d bytes is required", field, MaxMetricKeyLen)
	case strings.TrimSpace(key) != key:
		return Errorf(ErrInvalid, "%s: a metric key must not begin or end with whitespace", field)
	}
	return nil
}

func stageNames() []string {
	out := make([]string, len(ValidStages))
	for i, s := range ValidStages {
		out[i] = string(s)
	}
	return out
}

func fieldsOf(t FilterTarget) map[string]fieldSpec {
	if t == FilterModels {
		return modelFields
	}
	return versionFields
}

// fieldList names a target's fields for error messages.
func fieldList(t FilterTarget, sortable bool) string {
	fields := fieldsOf(t)
	var names []string
	for _, n := range slices.Sorted(maps.Keys(fields)) {
		spec := fields[n]
		switch {
		case sortable && !spec.sortable:
			continue
		case spec.keyed:
			n += ".<key>"
		}
		names = append(names, n)
	}
	return strings.Join(names, ", ")
}

// Field is what a condition or an order looks at: a plain field such as
// "created_at" or "source.run_id" (Key empty), or a keyed one: Name "tags",
// "params" or "metrics" with the tag, param or metric key.
type Field struct {
	Name string
	Key  string
}

// bareKeyRE matches the keys that need no quotes after "tags." and friends.
var bareKeyRE = regexp.MustCompile(`^[A-Za-z0-9_.\-/]+$`)

func (f Field) String() string {
	switch {
	case f.Key == "":
		return f.Name
	case bareKeyRE.MatchString(f.Key):
		return f.Name + "." + f.Key
	}
	return f.Name + "." + quoteFilterString(f.Key)
}

// Filter is a parsed filter expression. A nil *Filter matches everything.
type Filter struct {
	Root FilterExpr
}

// String is the filter in canonical form: parsing it gives the same tree.
func (f *Filter) String() string {
	if f == nil || f.Root == nil {
		return ""
	}
	return f.Root.String()
}

// FilterExpr is a node of a filter: *FilterAnd, *FilterOr or *Condition.
type FilterExpr interface {
	String() string
	filterExpr()
}

// FilterAnd holds when all of its terms (at least two) hold.
type FilterAnd struct{ Terms []FilterExpr }

// FilterOr holds when any of its terms (at least two) holds.
type FilterOr struct{ Terms []FilterExpr }

// Condition compares a field with values. Values has one element, or one
// or more for OpIn; each is a string (FieldText, FieldEnum), an int64
// (FieldInt), a float64 (FieldNumber) or a time.Time (FieldTime; UTC, at
// microsecond precision). For OpLike the value is the pattern: %
// matches any run of characters, _ any one character, and \ makes the
// character after it match itself.
//
// A condition on a tag, param or metric the item does not have is false,
// whatever the operator, as is one on a time the item does not have
// (finalized_at of a pending version): SQL's NULL semantics.
type Condition struct {
	Field  Field
	Type   FieldType
	Op     Operator
	Values []any
}

func (*FilterAnd) filterExpr() {}
func (*FilterOr) filterExpr()  {}
func (*Condition) filterExpr() {}

func (a *FilterAnd) String() string {
	parts := make([]string, len(a.Terms))
	for i, t := range a.Terms {
		parts[i] = t.String()
		if _, ok := t.(*FilterOr); ok {
			parts[i] = "(" + parts[i] + ")"
		}
	}
	return strings.Join(parts, " AND ")
}

func (o *FilterOr) String() string {
	parts := make([]string, len(o.Terms))
	for i, t := range o.Terms {
		parts[i] = t.String() // AND binds tighter: no parentheses needed
	}
	return strings.Join(parts, " OR ")
}

func (c *Condition) String() string {
	vals := make([]string, len(c.Values))
	for i, v := range c.Values {
		vals[i] = formatFilterValue(v)
	}
	if c.Op == OpIn {
		return c.Field.String() + " IN (" + strings.Join(vals, ", ") + ")"
	}
	return c.Field.String() + " " + string(c.Op) + " " + strings.Join(vals, ", ")
}

func formatFilterValue(v any) string {
	switch v := v.(type) {
	case string:
		return quoteFilterString(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case time.Time:
		return `"` + v.UTC().Format(time.RFC3339Nano) + `"`
	}
	return fmt.Sprintf("%v", v) // not reached: the parser makes only the types above
}

// quoteFilterString writes s as a filter string literal that reads back as s.
func quoteFilterString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// FilterError is a syntax or type error in a filter or order_by, at a
// position a user can find: the 1-based character (not byte) offset.
type FilterError struct {
	Param string // "filter" or "order_by"
	Pos   int
	Msg   string
}

func (e *FilterError) Error() string {
	return fmt.Sprintf("invalid %s at position %d: %s", e.Param, e.Pos, e.Msg)
}

// ParseFilter parses a filter expression for target. Blank text is no
// filter (nil, nil). Errors are ErrInvalid wrapping a *FilterError.
//
// Grammar (keywords are case-insensitive, field names are not):
//
//	filter     = or
//	or         = and { "OR" and }
//	and        = term { "AND" term }
//	term       = "(" or ")" | condition
//	condition  = field ( compare value | "IN" "(" value { "," value } ")" | "LIKE" string )
//	compare    = "=" | "!=" | "<" | "<=" | ">" | ">="
//	field      = name | prefix "." key | prefix "." string
//	value      = string | number
func ParseFilter(target FilterTarget, src string) (*Filter, error) {
	if strings.TrimSpace(src) == "" {
		return nil, nil
	}
	p, err := newFilterParser("filter", target, src, MaxFilterLen)
	if err != nil {
		return nil, err
	}
	root, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		return nil, p.errorf(p.tok, "expected AND, OR or the end of the filter, found %s", p.describe(p.tok))
	}
	return &Filter{Root: root}, nil
}

// Order is a list's sort key (?order_by=): one field and a direction. The
// list's unique key (name for models, version for versions) breaks ties, in
// the same direction, so the order is total and keyset pagination exact.
// The zero Order is the list's default: models by name, versions newest
// first. Items without a value for the field (a metric never logged, a
// version not finalized) come last in either direction.
type Order struct {
	Field Field
	Desc  bool
}

// IsZero reports whether o is the list's default order.
func (o Order) IsZero() bool { return o.Field == Field{} }

func (o Order) String() string {
	switch {
	case o.IsZero():
		return ""
	case o.Desc:
		return o.Field.String() + " DESC"
	}
	return o.Field.String() + " ASC"
}

// defaultOrders are the orders of a list without order_by; ParseOrder
// returns the zero Order for them, so that both spellings page alike.
var defaultOrders = map[FilterTarget]Order{
	FilterModels:   {Field: Field{Name: "name"}},
	FilterVersions: {Field: Field{Name: "version"}, Desc: true},
}

// ParseOrder parses an order_by for target: `field [ASC|DESC]`, ascending
// when no direction is given. Blank text, and the list's default order, give
// the zero Order. Errors are ErrInvalid wrapping a *FilterError.
func ParseOrder(target FilterTarget, src string) (Order, error) {
	if strings.TrimSpace(src) == "" {
		return Order{}, nil
	}
	p, err := newFilterParser("order_by", target, src, MaxOrderByLen)
	if err != nil {
		return Order{}, err
	}
	tok := p.tok
	if tok.kind != tokWord || p.reserved(tok) {
		return Order{}, p.errorf(tok, "expected a field name, found %s", p.describe(tok))
	}
	field, spec, err := p.resolveField(tok)
	if err != nil {
		return Order{}, err
	}
	if !spec.sortable {
		return Order{}, p.errorf(tok, "cannot sort by %s; sortable fields: %s", field, fieldList(target, true))
	}
	o := Order{Field: field}
	if err := p.advance(); err != nil {
		return Order{}, err
	}
	switch {
	case p.keyword(p.tok, "ASC"):
	case p.keyword(p.tok, "DESC"):
		o.Desc = true
	case p.tok.kind != tokEOF:
		return Order{}, p.errorf(p.tok, "expected ASC, DESC or the end, found %s", p.describe(p.tok))
	}
	if p.tok.kind != tokEOF {
		if err := p.advance(); err != nil {
			return Order{}, err
		}
	}
	if p.tok.kind != tokEOF {
		return Order{}, p.errorf(p.tok, "expected the end after the direction, found %s (order_by takes one field)", p.describe(p.tok))
	}
	if o == defaultOrders[target] {
		return Order{}, nil
	}
	return o, nil
}

// Lexer.

type tokenKind int

const (
	tokEOF    tokenKind = iota
	tokWord             // a field name or a keyword
	tokString           // "..."
	tokNumber           // 12, -0.5, 1e-3
	tokOp               // = != < <= > >=
	tokLParen           // (
	tokRParen           // )
	tokComma            // ,
)

type token struct {
	kind     tokenKind
	pos, end int    // byte offsets in the source
	text     string // source text of words, numbers and operators
	// str is a string's decoded value, or the key of a word written as
	// prefix."quoted key" (then quoted is true).
	str    string
	quoted bool
}

// filterParser is the lexer and the parser in one: the grammar is small
// enough to lex on demand, one token ahead.
type filterParser struct {
	param  string // "filter" or "order_by", for messages
	target FilterTarget
	fields map[string]fieldSpec
	src    string
	off    int   // the lexer's position
	tok    token // the current token
	depth  int   // open parentheses
	conds  int   // conditions so far
}

func newFilterParser(param string, target FilterTarget, src string, maxLen int) (*filterParser, error) {
	p := &filterParser{param: param, target: target, fields: fieldsOf(target), src: src}
	if len(src) > maxLen {
		return nil, p.errorAt(maxLen, "longer than %d bytes", maxLen)
	}
	if !utf8.ValidString(src) {
		for i, r := range src {
			if r == utf8.RuneError {
				return nil, p.errorAt(i, "not valid UTF-8")
			}
		}
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	return p, nil
}

// errorAt makes the ErrInvalid for a problem at byte offset off.
func (p *filterParser) errorAt(off int, format string, args ...any) error {
	off = min(off, len(p.src))
	pos := utf8.RuneCountInString(p.src[:off]) + 1
	return Errorf(ErrInvalid, "%w", &FilterError{Param: p.param, Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

func (p *filterParser) errorf(t token, format string, args ...any) error {
	return p.errorAt(t.pos, format, args...)
}

// describe names a token in a message, quoting (a bounded part of) its text.
func (p *filterParser) describe(t token) string {
	if t.kind == tokEOF {
		return "the end of the " + p.param
	}
	s := p.src[t.pos:t.end]
	if utf8.RuneCountInString(s) > 40 {
		s = string([]rune(s)[:40]) + "…"
	}
	return strconv.Quote(s)
}

func (p *filterParser) keyword(t token, kw string) bool {
	return t.kind == tokWord && !t.quoted && strings.EqualFold(t.text, kw)
}

// reserved reports whether a word is a keyword rather than a field.
func (p *filterParser) reserved(t token) bool {
	for _, kw := range []string{"AND", "OR", "NOT", "IN", "LIKE", "ASC", "DESC"} {
		if p.keyword(t, kw) {
			return true
		}
	}
	return false
}

func isWordStart(c byte) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func isWordByte(c byte) bool {
	return isWordStart(c) || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '/'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// numberRE is the accepted spelling of a number (strconv.ParseFloat would
// also take "inf", "0x1p3" and friends).
var numberRE = regexp.MustCompile(`^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$`)

// advance reads the next token into p.tok.
func (p *filterParser) advance() error {
	src := p.src
	for p.off < len(src) && strings.IndexByte(" \t\r\n", src[p.off]) >= 0 {
		p.off++
	}
	start := p.off
	if start == len(src) {
		p.tok = token{kind: tokEOF, pos: start, end: start}
		return nil
	}
	c := src[start]
	peek := byte(0)
	if start+1 < len(src) {
		peek = src[start+1]
	}
	tok := token{pos: start}
	switch {
	case isWordStart(c):
		end := start
		for end < len(src) && isWordByte(src[end]) {
			end++
		}
		tok.kind, tok.text = tokWord, src[start:end]
		// tags."a key with spaces": the quoted part belongs to the word.
		if strings.HasSuffix(tok.text, ".") && end < len(src) && src[end] == '"' {
			s, after, err := p.lexString(end)
			if err != nil {
				return err
			}
			tok.str, tok.quoted, end = s, true, after
		}
		p.off = end
	case isDigit(c) || (c == '-' || c == '+' || c == '.') && (isDigit(peek) || peek == '.'):
		end := start + 1
		// Take the whole run a user may have meant as one value (1e-5, but
		// also 2025-01-01), then check its spelling.
		for end < len(src) && (isWordByte(src[end]) || src[end] == '+' || src[end] == ':') {
			end++
		}
		tok.kind, tok.text = tokNumber, src[start:end]
		if !numberRE.MatchString(tok.text) {
			hint := ""
			if strings.Count(tok.text, "-") >= 2 || strings.Contains(tok.text, ":") {
				hint = `; times are strings, as in "2025-01-31T12:00:00Z"`
			}
			return p.errorAt(start, "invalid number %q%s", tok.text, hint)
		}
		p.off = end
	case c == '"':
		s, end, err := p.lexString(start)
		if err != nil {
			return err
		}
		tok.kind, tok.str = tokString, s
		p.off = end
	case c == '=' && peek == '=':
		return p.errorAt(start, `use "=" to compare, not "=="`)
	case c == '=':
		tok.kind, tok.text = tokOp, "="
		p.off++
	case c == '!' && peek == '=':
		tok.kind, tok.text = tokOp, "!="
		p.off += 2
	case c == '<' && peek == '>':
		return p.errorAt(start, `use "!=", not "<>"`)
	case c == '<' || c == '>':
		tok.kind, tok.text = tokOp, string(c)
		p.off++
		if peek == '=' {
			tok.text += "="
			p.off++
		}
	case c == '(':
		tok.kind = tokLParen
		p.off++
	case c == ')':
		tok.kind = tokRParen
		p.off++
	case c == ',':
		tok.kind = tokComma
		p.off++
	case c == '\'' || c == '`':
		return p.errorAt(start, "strings are written in double quotes")
	default:
		r, _ := utf8.DecodeRuneInString(src[start:])
		return p.errorAt(start, "unexpected character %q", r)
	}
	tok.end = p.off
	p.tok = tok
	return nil
}

// lexString decodes the string literal starting at the '"' at start and
// returns its value and the offset after the closing quote. Escapes: \" \\
// \/ \n \r \t \uXXXX; \% and \_ stay as written, two characters, so that
// they reach a LIKE pattern as escaped wildcards (as in MySQL).
func (p *filterParser) lexString(start int) (string, int, error) {
	var b strings.Builder
	src := p.src
	i := start + 1
	for i < len(src) {
		c := src[i]
		switch {
		case c == '"':
			return b.String(), i + 1, nil
		case c < 0x20:
			return "", 0, p.errorAt(i, `control character in a string; write \n, \t or \uXXXX`)
		case c != '\\':
			b.WriteByte(c)
			i++
			continue
		}
		if i+1 >= len(src) {
			break
		}
		switch e := src[i+1]; e {
		case '"', '\\', '/':
			b.WriteByte(e)
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case '%', '_':
			b.WriteByte('\\')
			b.WriteByte(e)
		case 'u':
			if i+6 > len(src) {
				return "", 0, p.errorAt(i, `\u needs four hex digits`)
			}
			n, err := strconv.ParseUint(src[i+2:i+6], 16, 16)
			switch {
			case err != nil:
				return "", 0, p.errorAt(i, `\u needs four hex digits`)
			case n == 0:
				return "", 0, p.errorAt(i, `\u0000 is not allowed`)
			case n >= 0xd800 && n <= 0xdfff:
				return "", 0, p.errorAt(i, `\u%04x is a UTF-16 surrogate; write the character itself`, n)
			}
			b.WriteRune(rune(n))
			i += 6
			continue
		default:
			r, _ := utf8.DecodeRuneInString(src[i+1:])
			return "", 0, p.errorAt(i, `unknown escape \%c in a string`, r)
		}
		i += 2
	}
	return "", 0, p.errorAt(start, "string is not closed")
}

// Parser.

func (p *filterParser) parseOr() (FilterExpr, error) {
	first, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	terms := []FilterExpr{first}
	for p.keyword(p.tok, "OR") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		t, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		terms = append(terms, t)
	}
	if len(terms) == 1 {
		return first, nil
	}
	var flat []FilterExpr // a OR (b OR c) is a OR b OR c
	for _, t := range terms {
		if or, ok := t.(*FilterOr); ok {
			flat = append(flat, or.Terms...)
		} else {
			flat = append(flat, t)
		}
	}
	return &FilterOr{Terms: flat}, nil
}

func (p *filterParser) parseAnd() (FilterExpr, error) {
	first, err := p.parseTerm()
	if err != nil {
		return nil, err
	}
	terms := []FilterExpr{first}
	for p.keyword(p.tok, "AND") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		t, err := p.parseTerm()
		if err != nil {
			return nil, err
		}
		terms = append(terms, t)
	}
	if len(terms) == 1 {
		return first, nil
	}
	var flat []FilterExpr
	for _, t := range terms {
		if and, ok := t.(*FilterAnd); ok {
			flat = append(flat, and.Terms...)
		} else {
			flat = append(flat, t)
		}
	}
	return &FilterAnd{Terms: flat}, nil
}

func (p *filterParser) parseTerm() (FilterExpr, error) {
	if p.tok.kind != tokLParen {
		return p.parseCondition()
	}
	open := p.tok
	if p.depth == MaxFilterDepth {
		return nil, p.errorf(open, "parentheses nested deeper than %d", MaxFilterDepth)
	}
	p.depth++
	if err := p.advance(); err != nil {
		return nil, err
	}
	e, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokRParen {
		return nil, p.errorf(p.tok, `expected ")" to close the "(" at position %d, found %s`,
			utf8.RuneCountInString(p.src[:open.pos])+1, p.describe(p.tok))
	}
	p.depth--
	if err := p.advance(); err != nil {
		return nil, err
	}
	return e, nil
}

// resolveField maps a word to a field of the target.
func (p *filterParser) resolveField(t token) (Field, fieldSpec, error) {
	name := t.text
	if t.quoted {
		prefix := strings.TrimSuffix(name, ".")
		spec, ok := p.fields[prefix]
		if !ok || !spec.keyed {
			return Field{}, fieldSpec{}, p.errorf(t, "unknown field %q; fields: %s", prefix, fieldList(p.target, false))
		}
		return p.checkKey(t, Field{Name: prefix, Key: t.str}, spec)
	}
	if spec, ok := p.fields[name]; ok {
		if spec.keyed {
			return Field{}, fieldSpec{}, p.errorf(t, "%s needs a key, as in %s.<key>", name, name)
		}
		return Field{Name: name}, spec, nil
	}
	if prefix, key, ok := strings.Cut(name, "."); ok {
		if spec, ok := p.fields[prefix]; ok && spec.keyed {
			return p.checkKey(t, Field{Name: prefix, Key: key}, spec)
		}
	}
	return Field{}, fieldSpec{}, p.errorf(t, "unknown field %q; fields: %s", name, fieldList(p.target, false))
}

func (p *filterParser) checkKey(t token, f Field, spec fieldSpec) (Field, fieldSpec, error) {
	switch {
	case f.Key == "":
		return Field{}, fieldSpec{}, p.errorf(t, "%s needs a key, as in %s.<key>", f.Name, f.Name)
	case len(f.Key) > spec.maxKey:
		return Field{}, fieldSpec{}, p.errorf(t, "%s key is longer than %d bytes", f.Name, spec.maxKey)
	case f.Name != "metrics" && strings.ContainsAny(f.Key, ":\x00"):
		return Field{}, fieldSpec{}, p.errorf(t, "%s keys cannot contain ':'", f.Name)
	}
	return f, spec, nil
}

// allowedOps lists the operators each field type takes.
var allowedOps = map[FieldType][]Operator{
	FieldText:   {OpEq, OpNe, OpIn, OpLike},
	FieldEnum:   {OpEq, OpNe, OpIn},
	FieldInt:    {OpEq, OpNe, OpLt, OpLe, OpGt, OpGe, OpIn},
	FieldNumber: {OpEq, OpNe, OpLt, OpLe, OpGt, OpGe},
	FieldTime:   {OpEq, OpNe, OpLt, OpLe, OpGt, OpGe},
}

var typeNames = map[FieldType]string{
	FieldText: "text", FieldEnum: "a fixed set of words", FieldInt: "a whole number",
	FieldNumber: "a number", FieldTime: "a time",
}

func (p *filterParser) parseCondition() (FilterExpr, error) {
	ft := p.tok
	switch {
	case p.keyword(ft, "NOT"):
		return nil, p.errorf(ft, "NOT is not supported; use != or a condition on the other values")
	case ft.kind != tokWord || p.reserved(ft):
		return nil, p.errorf(ft, "expected a field name, found %s", p.describe(ft))
	}
	field, spec, err := p.resolveField(ft)
	if err != nil {
		return nil, err
	}
	if p.conds++; p.conds > MaxFilterConditions {
		return nil, p.errorf(ft, "more than %d conditions", MaxFilterConditions)
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	ot := p.tok
	var op Operator
	switch {
	case ot.kind == tokOp:
		op = Operator(ot.text)
	case p.keyword(ot, "IN"):
		op = OpIn
	case p.keyword(ot, "LIKE"):
		op = OpLike
	default:
		return nil, p.errorf(ot, "expected an operator (=, !=, <, <=, >, >=, IN, LIKE) after %s, found %s", field, p.describe(ot))
	}
	if ops := allowedOps[spec.typ]; !slices.Contains(ops, op) {
		names := make([]string, len(ops))
		for i, o := range ops {
			names[i] = string(o)
		}
		return nil, p.errorf(ot, "%s is %s: it takes %s, not %s", field, typeNames[spec.typ], strings.Join(names, ", "), op)
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	c := &Condition{Field: field, Type: spec.typ, Op: op}
	if op != OpIn {
		v, err := p.parseValue(field, spec, op)
		if err != nil {
			return nil, err
		}
		c.Values = []any{v}
		return c, nil
	}
	if p.tok.kind != tokLParen {
		return nil, p.errorf(p.tok, `expected "(" after IN, found %s`, p.describe(p.tok))
	}
	for {
		if err := p.advance(); err != nil {
			return nil, err
		}
		if len(c.Values) == MaxFilterValues {
			return nil, p.errorf(p.tok, "more than %d values in one IN list", MaxFilterValues)
		}
		v, err := p.parseValue(field, spec, op)
		if err != nil {
			return nil, err
		}
		c.Values = append(c.Values, v)
		if p.tok.kind != tokComma {
			break
		}
	}
	if p.tok.kind != tokRParen {
		return nil, p.errorf(p.tok, `expected "," or ")" in the IN list, found %s`, p.describe(p.tok))
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	return c, nil
}

// parseValue reads the literal at p.tok as a value of field and advances.
func (p *filterParser) parseValue(field Field, spec fieldSpec, op Operator) (any, error) {
	t := p.tok
	var v any
	switch spec.typ {
	case FieldText, FieldEnum:
		if t.kind != tokString {
			return nil, p.errorf(t, "expected a double-quoted string to compare %s with, found %s", field, p.describe(t))
		}
		if spec.typ == FieldEnum && !slices.Contains(spec.enum, t.str) {
			return nil, p.errorf(t, "%q is not a valid %s; want %s", t.str, field, strings.Join(spec.enum, ", "))
		}
		if op == OpLike && !validLikePattern(t.str) {
			return nil, p.errorf(t, `LIKE pattern ends with a lone \`)
		}
		v = t.str
	case FieldInt:
		if t.kind != tokNumber {
			return nil, p.errorf(t, "expected a whole number to compare %s with, found %s", field, p.describe(t))
		}
		n, err := strconv.ParseInt(t.text, 10, 64)
		if err != nil {
			return nil, p.errorf(t, "%s is compared with whole numbers, not %q", field, t.text)
		}
		v = n
	case FieldNumber:
		if t.kind != tokNumber {
			return nil, p.errorf(t, "expected a number to compare %s with, found %s", field, p.describe(t))
		}
		f, err := strconv.ParseFloat(t.text, 64)
		if err != nil { // out of range: the spelling was checked by the lexer
			return nil, p.errorf(t, "number %q is out of range", t.text)
		}
		v = f
	case FieldTime:
		if t.kind != tokString {
			return nil, p.errorf(t, `expected a time in double quotes, as in "2025-01-31T12:00:00Z", found %s`, p.describe(t))
		}
		tm, err := parseFilterTime(t.str)
		if err != nil {
			return nil, p.errorf(t, `%q is not an RFC 3339 time (as in "2025-01-31T12:00:00Z") or a date ("2025-01-31")`, t.str)
		}
		v = tm
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	return v, nil
}

// parseFilterTime reads an RFC 3339 time, or a date meaning its midnight UTC,
// at the databases' precision.
func parseFilterTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t, err = time.Parse(time.DateOnly, s)
	}
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC().Truncate(time.Microsecond), nil
}

// validLikePattern reports whether every \ in a LIKE pattern escapes a
// character.
func validLikePattern(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			if i+1 == len(s) {
				return false
			}
			i++
		}
	}
	return true
}
