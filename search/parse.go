package search

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Parse parses a filter expression over the fields of schema. Blank text
// is no filter (nil, nil). Errors are *Error.
//
// Grammar (keywords are case-insensitive, field names are not):
//
//	filter     = or
//	or         = and { "OR" and }
//	and        = term { "AND" term }
//	term       = "(" or ")" | condition
//	condition  = field ( compare value | "IN" "(" value { "," value } ")" | "LIKE" string )
//	compare    = "=" | "==" | "!=" | "<" | "<=" | ">" | ">="   ("==" is "=")
//	field      = name | prefix "." key | prefix "." string
//	value      = string | number
func Parse(schema Schema, src string) (*Filter, error) {
	if strings.TrimSpace(src) == "" {
		return nil, nil
	}
	p, err := newParser("filter", schema, src, MaxFilterLen)
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

// ParseOrder parses an order_by over the fields of schema: `field
// [ASC|DESC]`, ascending when no direction is given. Blank text, and the
// schema's default order, give the zero Order. Errors are *Error.
func ParseOrder(schema Schema, src string) (Order, error) {
	if strings.TrimSpace(src) == "" {
		return Order{}, nil
	}
	p, err := newParser("order_by", schema, src, MaxOrderByLen)
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
	if !spec.Sortable {
		return Order{}, p.errorf(tok, "cannot sort by %s; sortable fields: %s", field, schema.fieldList(true))
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
	if o == schema.DefaultOrder {
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

// parser is the lexer and the parser in one: the grammar is small
// enough to lex on demand, one token ahead.
type parser struct {
	param  string // "filter" or "order_by", for messages
	schema Schema
	fields map[string]FieldSpec
	src    string
	off    int   // the lexer's position
	tok    token // the current token
	depth  int   // open parentheses
	conds  int   // conditions so far
}

func newParser(param string, schema Schema, src string, maxLen int) (*parser, error) {
	p := &parser{param: param, schema: schema, fields: schema.Fields, src: src}
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

// errorAt makes the *Error for a problem at byte offset off.
func (p *parser) errorAt(off int, format string, args ...any) error {
	off = min(off, len(p.src))
	pos := utf8.RuneCountInString(p.src[:off]) + 1
	return &Error{Param: p.param, Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) errorf(t token, format string, args ...any) error {
	return p.errorAt(t.pos, format, args...)
}

// describe names a token in a message, quoting (a bounded part of) its text.
func (p *parser) describe(t token) string {
	if t.kind == tokEOF {
		return "the end of the " + p.param
	}
	s := p.src[t.pos:t.end]
	if utf8.RuneCountInString(s) > 40 {
		s = string([]rune(s)[:40]) + "…"
	}
	return strconv.Quote(s)
}

func (p *parser) keyword(t token, kw string) bool {
	return t.kind == tokWord && !t.quoted && strings.EqualFold(t.text, kw)
}

// reserved reports whether a word is a keyword rather than a field.
func (p *parser) reserved(t token) bool {
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
func (p *parser) advance() error {
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
		// The same as "=": promotion gates spell equality "==" (or "="),
		// and one spelling that works in one place and not the other
		// trips people up.
		tok.kind, tok.text = tokOp, "="
		p.off += 2
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
func (p *parser) lexString(start int) (string, int, error) {
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

func (p *parser) parseOr() (Expr, error) {
	first, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	terms := []Expr{first}
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
	var flat []Expr // a OR (b OR c) is a OR b OR c
	for _, t := range terms {
		if or, ok := t.(*Or); ok {
			flat = append(flat, or.Terms...)
		} else {
			flat = append(flat, t)
		}
	}
	return &Or{Terms: flat}, nil
}

func (p *parser) parseAnd() (Expr, error) {
	first, err := p.parseTerm()
	if err != nil {
		return nil, err
	}
	terms := []Expr{first}
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
	var flat []Expr
	for _, t := range terms {
		if and, ok := t.(*And); ok {
			flat = append(flat, and.Terms...)
		} else {
			flat = append(flat, t)
		}
	}
	return &And{Terms: flat}, nil
}

func (p *parser) parseTerm() (Expr, error) {
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

// resolveField maps a word to a field of the schema.
func (p *parser) resolveField(t token) (Field, FieldSpec, error) {
	name := t.text
	if t.quoted {
		prefix := strings.TrimSuffix(name, ".")
		spec, ok := p.fields[prefix]
		if !ok || !spec.Keyed {
			return Field{}, FieldSpec{}, p.errorf(t, "unknown field %q; fields: %s", prefix, p.schema.fieldList(false))
		}
		return p.checkKey(t, Field{Name: prefix, Key: t.str}, spec)
	}
	if spec, ok := p.fields[name]; ok {
		if spec.Keyed {
			return Field{}, FieldSpec{}, p.errorf(t, "%s needs a key, as in %s.<key>", name, name)
		}
		return Field{Name: name}, spec, nil
	}
	if prefix, key, ok := strings.Cut(name, "."); ok {
		if spec, ok := p.fields[prefix]; ok && spec.Keyed {
			return p.checkKey(t, Field{Name: prefix, Key: key}, spec)
		}
	}
	return Field{}, FieldSpec{}, p.errorf(t, "unknown field %q; fields: %s", name, p.schema.fieldList(false))
}

func (p *parser) checkKey(t token, f Field, spec FieldSpec) (Field, FieldSpec, error) {
	switch {
	case f.Key == "":
		return Field{}, FieldSpec{}, p.errorf(t, "%s needs a key, as in %s.<key>", f.Name, f.Name)
	case len(f.Key) > spec.MaxKey:
		return Field{}, FieldSpec{}, p.errorf(t, "%s key is longer than %d bytes", f.Name, spec.MaxKey)
	case strings.ContainsAny(f.Key, spec.KeyForbids):
		return Field{}, FieldSpec{}, p.errorf(t, "%s keys cannot contain ':'", f.Name)
	}
	return f, spec, nil
}

// allowedOps lists the operators each field type takes.
var allowedOps = map[Type][]Operator{
	Text:   {OpEq, OpNe, OpIn, OpLike},
	Enum:   {OpEq, OpNe, OpIn},
	Int:    {OpEq, OpNe, OpLt, OpLe, OpGt, OpGe, OpIn},
	Number: {OpEq, OpNe, OpLt, OpLe, OpGt, OpGe},
	Time:   {OpEq, OpNe, OpLt, OpLe, OpGt, OpGe},
}

var typeNames = map[Type]string{
	Text: "text", Enum: "a fixed set of words", Int: "a whole number",
	Number: "a number", Time: "a time",
}

func (p *parser) parseCondition() (Expr, error) {
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
	if ops := allowedOps[spec.Type]; !slices.Contains(ops, op) {
		names := make([]string, len(ops))
		for i, o := range ops {
			names[i] = string(o)
		}
		return nil, p.errorf(ot, "%s is %s: it takes %s, not %s", field, typeNames[spec.Type], strings.Join(names, ", "), op)
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	c := &Condition{Field: field, Type: spec.Type, Op: op}
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
func (p *parser) parseValue(field Field, spec FieldSpec, op Operator) (any, error) {
	t := p.tok
	var v any
	switch spec.Type {
	case Text, Enum:
		if t.kind != tokString {
			return nil, p.errorf(t, "expected a double-quoted string to compare %s with, found %s", field, p.describe(t))
		}
		if spec.Type == Enum && !slices.Contains(spec.Enum, t.str) {
			return nil, p.errorf(t, "%q is not a valid %s; want %s", t.str, field, strings.Join(spec.Enum, ", "))
		}
		if op == OpLike && !validLikePattern(t.str) {
			return nil, p.errorf(t, `LIKE pattern ends with a lone \`)
		}
		v = t.str
	case Int:
		if t.kind != tokNumber {
			return nil, p.errorf(t, "expected a whole number to compare %s with, found %s", field, p.describe(t))
		}
		n, err := strconv.ParseInt(t.text, 10, 64)
		if err != nil {
			return nil, p.errorf(t, "%s is compared with whole numbers, not %q", field, t.text)
		}
		v = n
	case Number:
		if t.kind != tokNumber {
			return nil, p.errorf(t, "expected a number to compare %s with, found %s", field, p.describe(t))
		}
		f, err := strconv.ParseFloat(t.text, 64)
		if err != nil { // out of range: the spelling was checked by the lexer
			return nil, p.errorf(t, "number %q is out of range", t.text)
		}
		v = f
	case Time:
		if t.kind != tokString {
			return nil, p.errorf(t, `expected a time in double quotes, as in "2025-01-31T12:00:00Z", found %s`, p.describe(t))
		}
		tm, err := parseTime(t.str)
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

// parseTime reads an RFC 3339 time, or a date meaning its midnight UTC,
// at the databases' precision.
func parseTime(s string) (time.Time, error) {
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
