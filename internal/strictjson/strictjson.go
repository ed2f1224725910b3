// Package strictjson is the one JSON decoder of request bodies. It reads
// exactly one JSON value (RFC 8259) and refuses, besides malformed JSON,
// what encoding/json lets through: data after the value, a key twice in one
// object, strings that are not valid UTF-8 (raw bytes, or an unpaired UTF-16
// surrogate escape such as \ud800, both of which encoding/json turns into
// U+FFFD), numbers beyond float64 and nesting deeper than MaxDepth.
//
// What it accepts, encoding/json decodes to the same value (FuzzDecode
// checks this), so a body that passed here reads the same everywhere.
// Errors say where the problem is (the field and the byte offset) and quote
// at most a short prefix of the offending text.
package strictjson

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxDepth bounds the nesting of arrays and objects.
const MaxDepth = 100

// Error is a body that is not one strict JSON value.
type Error struct {
	// Offset is the byte of the body where the problem begins.
	Offset int
	// Field is where the problem is, as the keys and indexes from the top
	// level joined by dots ("tags.team", "metrics.0.value"); "" for the
	// body itself. Long keys are shortened.
	Field string
	// Reason says what is wrong, in words.
	Reason string
	// lenient marks JSON that encoding/json would have accepted (a
	// duplicate key, invalid UTF-8, a number out of range, deep nesting).
	lenient bool
}

func (e *Error) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s (at byte %d)", e.Reason, e.Offset)
	}
	return fmt.Sprintf("field %q: %s (at byte %d)", e.Field, e.Reason, e.Offset)
}

// Decode parses data as exactly one JSON value, surrounded by nothing but
// white space. Objects are map[string]any, arrays []any, numbers
// json.Number, and strings, booleans and null string, bool and nil, as
// encoding/json's Decoder with UseNumber gives them.
func Decode(data []byte) (any, error) {
	d := decoder{data: data}
	d.skipSpace()
	if d.pos == len(d.data) {
		return nil, d.fail(d.pos, false, "no JSON value: the body is empty")
	}
	v, err := d.value()
	if err != nil {
		return nil, err
	}
	d.skipSpace()
	if d.pos < len(d.data) {
		return nil, d.fail(d.pos, false, "data after the JSON value: send exactly one")
	}
	return v, nil
}

type decoder struct {
	data  []byte
	pos   int
	path  []string // the keys and indexes leading to the value being read
	depth int
}

const (
	maxSegment = 32  // bytes of one key in Error.Field
	maxField   = 128 // bytes of Error.Field
	maxQuote   = 24  // bytes of a quoted number
)

// fail makes the error at offset off, in the value being read.
func (d *decoder) fail(off int, lenient bool, format string, args ...any) *Error {
	return &Error{Offset: off, Field: fieldOf(d.path), Reason: fmt.Sprintf(format, args...), lenient: lenient}
}

// fieldOf renders a path, shortened to stay readable whatever the keys.
func fieldOf(path []string) string {
	var b strings.Builder
	for i, s := range path {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(Prefix(s, maxSegment))
		if b.Len() > maxField {
			return strings.TrimRight(Prefix(b.String(), maxField), ".…") + "…"
		}
	}
	return b.String()
}

// Prefix returns s if it has at most n bytes, else its first bytes (whole
// runes, at most n) followed by "…".
func Prefix(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func (d *decoder) skipSpace() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// unexpected is the error for the byte at d.pos (or the end of the body)
// where want was expected.
func (d *decoder) unexpected(want string) *Error {
	if d.pos >= len(d.data) {
		return d.fail(d.pos, false, "the body ends where %s was expected", want)
	}
	return d.fail(d.pos, false, "unexpected %s where %s was expected", describe(d.data[d.pos]), want)
}

func describe(c byte) string {
	if c > ' ' && c < utf8.RuneSelf {
		return fmt.Sprintf("'%c'", c)
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

func (d *decoder) value() (any, error) {
	if d.pos >= len(d.data) {
		return nil, d.unexpected("a value")
	}
	switch c := d.data[d.pos]; {
	case c == '{':
		return d.object()
	case c == '[':
		return d.array()
	case c == '"':
		return d.str(false)
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		return d.number()
	}
	return nil, d.unexpected("a value")
}

func (d *decoder) literal(word string) error {
	for i := 0; i < len(word); i++ {
		if d.pos >= len(d.data) || d.data[d.pos] != word[i] {
			return d.unexpected(fmt.Sprintf("%q", word))
		}
		d.pos++
	}
	return nil
}

func (d *decoder) enter() error {
	if d.depth == MaxDepth {
		return d.fail(d.pos, true, "nested deeper than %d levels", MaxDepth)
	}
	d.depth++
	return nil
}

func (d *decoder) object() (any, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	d.pos++ // {
	m := map[string]any{}
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		d.depth--
		return m, nil
	}
	for {
		if d.pos >= len(d.data) || d.data[d.pos] != '"' {
			return nil, d.unexpected("a key in double quotes")
		}
		at := d.pos
		k, err := d.str(true)
		if err != nil {
			return nil, err
		}
		if _, dup := m[k]; dup {
			d.path = append(d.path, k)
			return nil, d.fail(at, true, "the key appears twice in its object")
		}
		d.skipSpace()
		if d.pos >= len(d.data) || d.data[d.pos] != ':' {
			return nil, d.unexpected("':' after a key")
		}
		d.pos++
		d.skipSpace()
		d.path = append(d.path, k)
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		d.path = d.path[:len(d.path)-1]
		m[k] = v
		d.skipSpace()
		if d.pos < len(d.data) {
			switch d.data[d.pos] {
			case ',':
				d.pos++
				d.skipSpace()
				continue
			case '}':
				d.pos++
				d.depth--
				return m, nil
			}
		}
		return nil, d.unexpected("',' or '}' after an object member")
	}
}

func (d *decoder) array() (any, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	d.pos++ // [
	a := []any{}
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == ']' {
		d.pos++
		d.depth--
		return a, nil
	}
	for {
		d.path = append(d.path, strconv.Itoa(len(a)))
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		d.path = d.path[:len(d.path)-1]
		a = append(a, v)
		d.skipSpace()
		if d.pos < len(d.data) {
			switch d.data[d.pos] {
			case ',':
				d.pos++
				d.skipSpace()
				continue
			case ']':
				d.pos++
				d.depth--
				return a, nil
			}
		}
		return nil, d.unexpected("',' or ']' after an array element")
	}
}

// str reads a string from its opening quote; key says whether it is an
// object's key (for the error messages).
func (d *decoder) str(key bool) (string, error) {
	what := "the string"
	if key {
		what = "a key"
	}
	d.pos++ // "
	start := d.pos
	// Plain ASCII without escapes, the common case, is sliced as is.
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		if c == '"' {
			s := string(d.data[start:d.pos])
			d.pos++
			return s, nil
		}
		if c == '\\' || c < ' ' || c >= utf8.RuneSelf {
			break
		}
		d.pos++
	}
	buf := append([]byte(nil), d.data[start:d.pos]...)
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			d.pos++
			return string(buf), nil
		case c < ' ':
			return "", d.fail(d.pos, false, "control character 0x%02x in %s: escape it", c, what)
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(d.data[d.pos:])
			if r == utf8.RuneError && size <= 1 {
				return "", d.fail(d.pos, true, "%s is not valid UTF-8", what)
			}
			buf = append(buf, d.data[d.pos:d.pos+size]...)
			d.pos += size
		case c == '\\':
			r, err := d.escape(what)
			if err != nil {
				return "", err
			}
			buf = utf8.AppendRune(buf, r)
		default:
			buf = append(buf, c)
			d.pos++
		}
	}
	return "", d.fail(d.pos, false, "the body ends inside a string")
}

// escape reads one escape sequence at d.pos, a surrogate pair as one.
func (d *decoder) escape(what string) (rune, error) {
	at := d.pos
	if d.pos+1 >= len(d.data) {
		return 0, d.fail(d.pos, false, "the body ends inside a string")
	}
	c := d.data[d.pos+1]
	d.pos += 2
	switch c {
	case '"', '\\', '/':
		return rune(c), nil
	case 'b':
		return '\b', nil
	case 'f':
		return '\f', nil
	case 'n':
		return '\n', nil
	case 'r':
		return '\r', nil
	case 't':
		return '\t', nil
	case 'u':
		r, ok := d.hex4()
		if !ok {
			return 0, d.fail(at, false, "invalid \\u escape in %s: want four hex digits", what)
		}
		if !utf16Surrogate(r) {
			return r, nil
		}
		if r < 0xDC00 && d.pos+1 < len(d.data) && d.data[d.pos] == '\\' && d.data[d.pos+1] == 'u' {
			d.pos += 2
			lo, ok := d.hex4()
			if !ok {
				return 0, d.fail(d.pos-2, false, "invalid \\u escape in %s: want four hex digits", what)
			}
			if lo >= 0xDC00 && lo <= 0xDFFF {
				return (r-0xD800)<<10 | (lo - 0xDC00) + 0x10000, nil
			}
		}
		return 0, d.fail(at, true, "%s is not valid UTF-8: \\u%04x is half of a UTF-16 surrogate pair", what, r)
	}
	return 0, d.fail(at, false, "invalid escape in %s: %s after a backslash", what, describe(c))
}

func utf16Surrogate(r rune) bool { return r >= 0xD800 && r <= 0xDFFF }

// hex4 reads four hex digits.
func (d *decoder) hex4() (rune, bool) {
	if d.pos+4 > len(d.data) {
		return 0, false
	}
	var r rune
	for _, c := range d.data[d.pos : d.pos+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	d.pos += 4
	return r, true
}

// number reads a number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *decoder) number() (any, error) {
	start := d.pos
	if d.data[d.pos] == '-' {
		d.pos++
	}
	switch {
	case d.pos < len(d.data) && d.data[d.pos] == '0':
		d.pos++
	case d.digits() == 0:
		return nil, d.unexpected("a digit")
	}
	if d.pos < len(d.data) && d.data[d.pos] == '.' {
		d.pos++
		if d.digits() == 0 {
			return nil, d.unexpected("a digit after the decimal point")
		}
	}
	if d.pos < len(d.data) && (d.data[d.pos] == 'e' || d.data[d.pos] == 'E') {
		d.pos++
		if d.pos < len(d.data) && (d.data[d.pos] == '+' || d.data[d.pos] == '-') {
			d.pos++
		}
		if d.digits() == 0 {
			return nil, d.unexpected("a digit of the exponent")
		}
	}
	lit := string(d.data[start:d.pos])
	if _, err := strconv.ParseFloat(lit, 64); err != nil {
		return nil, d.fail(start, true, "the number %s is out of range", Prefix(lit, maxQuote))
	}
	return json.Number(lit), nil
}

func (d *decoder) digits() int {
	n := 0
	for d.pos < len(d.data) && d.data[d.pos] >= '0' && d.data[d.pos] <= '9' {
		d.pos++
		n++
	}
	return n
}
