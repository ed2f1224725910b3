// Package search is the filter language of Modelkeep's list calls
// (?filter= and ?order_by=, docs/search.md): `tags.team = "risk" AND
// metrics.auc >= 0.9`. It holds the grammar: a hand-written lexer and
// recursive-descent parser that turn the text into a typed tree, checking
// each field against its operators and values.
//
// The package is a language, not a schema: the fields a list has, their
// types and which may be sorted by come from the caller as a Schema (the
// registry keeps its tables in package modelkeep). The tree says nothing
// about SQL; package store compiles it to parameterised queries, taking
// identifiers only from its own allow-list. It imports only the standard
// library.
package search

import (
	"maps"
	"slices"
	"strings"
)

// Limits on a filter, so that one request cannot make the database evaluate
// an unbounded expression.
const (
	MaxFilterLen        = 4096 // bytes
	MaxFilterDepth      = 16   // nested parentheses
	MaxFilterConditions = 32   // comparisons in one filter
	MaxFilterValues     = 100  // values in one IN list
	MaxOrderByLen       = 512  // bytes of an order_by
)

// Type is the kind of value a field holds; it decides which operators and
// literals a condition on it may use.
type Type int

const (
	// Text compares with =, !=, IN and LIKE against strings.
	Text Type = iota + 1
	// Enum is text restricted to a few words (FieldSpec.Enum): =, != and IN
	// against one of them.
	Enum
	// Int compares with =, !=, <, <=, >, >= and IN against whole numbers.
	Int
	// Number compares with =, !=, <, <=, >, >= against numbers.
	Number
	// Time compares with =, !=, <, <=, >, >= against RFC 3339 times written
	// as strings.
	Time
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

// FieldSpec describes one field of a list.
type FieldSpec struct {
	Type Type
	Enum []string // the words an Enum takes
	// Keyed fields are written name.<key> (tags.team, metrics.auc); MaxKey
	// is their longest key in bytes and KeyForbids the characters a key may
	// not contain.
	Keyed      bool
	MaxKey     int
	KeyForbids string
	Sortable   bool // allowed in order_by
}

// Schema is the fields of one list, by name, and the list's order without
// order_by (ParseOrder gives the zero Order for it, so that both spellings
// page alike).
type Schema struct {
	Fields       map[string]FieldSpec
	DefaultOrder Order
}

// fieldList names the schema's fields for error messages.
func (s Schema) fieldList(sortable bool) string {
	var names []string
	for _, n := range slices.Sorted(maps.Keys(s.Fields)) {
		spec := s.Fields[n]
		switch {
		case sortable && !spec.Sortable:
			continue
		case spec.Keyed:
			n += ".<key>"
		}
		names = append(names, n)
	}
	return strings.Join(names, ", ")
}
