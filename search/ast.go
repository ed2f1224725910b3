package search

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

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
	return f.Name + "." + quoteString(f.Key)
}

// Filter is a parsed filter expression. A nil *Filter matches everything.
type Filter struct {
	Root Expr
}

// String is the filter in canonical form: parsing it gives the same tree.
func (f *Filter) String() string {
	if f == nil || f.Root == nil {
		return ""
	}
	return f.Root.String()
}

// Expr is a node of a filter: *And, *Or or *Condition.
type Expr interface {
	String() string
	filterExpr()
}

// And holds when all of its terms (at least two) hold.
type And struct{ Terms []Expr }

// Or holds when any of its terms (at least two) holds.
type Or struct{ Terms []Expr }

// Condition compares a field with values. Values has one element, or one
// or more for OpIn; each is a string (Text, Enum), an int64 (Int), a
// float64 (Number) or a time.Time (Time; UTC, at microsecond precision).
// For OpLike the value is the pattern: % matches any run of characters, _
// any one character, and \ makes the character after it match itself.
//
// A condition on a tag, param or metric the item does not have is false,
// whatever the operator, as is one on a time the item does not have
// (finalized_at of a pending version): SQL's NULL semantics.
type Condition struct {
	Field  Field
	Type   Type
	Op     Operator
	Values []any
}

func (*And) filterExpr()       {}
func (*Or) filterExpr()        {}
func (*Condition) filterExpr() {}

func (a *And) String() string {
	parts := make([]string, len(a.Terms))
	for i, t := range a.Terms {
		parts[i] = t.String()
		if _, ok := t.(*Or); ok {
			parts[i] = "(" + parts[i] + ")"
		}
	}
	return strings.Join(parts, " AND ")
}

func (o *Or) String() string {
	parts := make([]string, len(o.Terms))
	for i, t := range o.Terms {
		parts[i] = t.String() // AND binds tighter: no parentheses needed
	}
	return strings.Join(parts, " OR ")
}

func (c *Condition) String() string {
	vals := make([]string, len(c.Values))
	for i, v := range c.Values {
		vals[i] = formatValue(v)
	}
	if c.Op == OpIn {
		return c.Field.String() + " IN (" + strings.Join(vals, ", ") + ")"
	}
	return c.Field.String() + " " + string(c.Op) + " " + strings.Join(vals, ", ")
}

func formatValue(v any) string {
	switch v := v.(type) {
	case string:
		return quoteString(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case time.Time:
		return `"` + v.UTC().Format(time.RFC3339Nano) + `"`
	}
	return fmt.Sprintf("%v", v) // not reached: the parser makes only the types above
}

// quoteString writes s as a filter string literal that reads back as s.
func quoteString(s string) string {
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

// Error is a syntax or type error in a filter or order_by, at a
// position a user can find: the 1-based character (not byte) offset.
type Error struct {
	Param string // "filter" or "order_by"
	Pos   int
	Msg   string
}

func (e *Error) Error() string {
	return fmt.Sprintf("invalid %s at position %d: %s", e.Param, e.Pos, e.Msg)
}

// Order is a list's sort key (?order_by=): one field and a direction. The
// list's unique key (name for models, version for versions) breaks ties, in
// the same direction, so the order is total and keyset pagination exact.
// The zero Order is the list's default (Schema.DefaultOrder): models by
// name, versions newest first. Items without a value for the field (a metric never logged, a
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
