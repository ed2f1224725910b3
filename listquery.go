package modelkeep

import (
	"slices"

	"github.com/modelkeep/modelkeep/search"
)

// The registry's searchable lists and their fields: the schema the filter
// language (package search, docs/search.md) parses ?filter= and ?order_by=
// against. Package store compiles the parsed tree with its own allow-list
// of columns for the same names.

// FilterTarget says which list a filter or order applies to: each has its
// own fields.
type FilterTarget int

const (
	FilterModels FilterTarget = iota + 1
	FilterVersions
)

// keyForbids are the characters a tag or param key may not contain (see
// ValidateTags); metric keys may hold any.
const keyForbids = ":\x00"

var (
	modelSchema = search.Schema{
		Fields: map[string]search.FieldSpec{
			"name":        {Type: search.Text, Sortable: true},
			"description": {Type: search.Text},
			"created_by":  {Type: search.Text},
			"created_at":  {Type: search.Time, Sortable: true},
			"updated_at":  {Type: search.Time, Sortable: true},
			"tags":        {Type: search.Text, Keyed: true, MaxKey: MaxTagKeyLen, KeyForbids: keyForbids},
		},
		DefaultOrder: search.Order{Field: search.Field{Name: "name"}},
	}
	versionSchema = search.Schema{
		Fields: map[string]search.FieldSpec{
			"version":           {Type: search.Int, Sortable: true},
			"status":            {Type: search.Enum, Enum: []string{string(StatusPending), string(StatusReady)}},
			"stage":             {Type: search.Enum, Enum: stageNames()},
			"created_by":        {Type: search.Text},
			"created_at":        {Type: search.Time, Sortable: true},
			"finalized_at":      {Type: search.Time, Sortable: true},
			"source.run_id":     {Type: search.Text},
			"source.git_commit": {Type: search.Text},
			"tags":              {Type: search.Text, Keyed: true, MaxKey: MaxTagKeyLen, KeyForbids: keyForbids},
			"params":            {Type: search.Text, Keyed: true, MaxKey: MaxTagKeyLen, KeyForbids: keyForbids},
			"metrics":           {Type: search.Number, Keyed: true, MaxKey: MaxMetricKeyLen, Sortable: true},
		},
		DefaultOrder: search.Order{Field: search.Field{Name: "version"}, Desc: true},
	}
)

func stageNames() []string {
	out := make([]string, len(ValidStages))
	for i, s := range ValidStages {
		out[i] = string(s)
	}
	return out
}

// Schema is the fields of the target's list.
func (t FilterTarget) Schema() search.Schema {
	if t == FilterModels {
		return modelSchema
	}
	return versionSchema
}

// ParseFilter parses a filter expression for target. Blank text is no
// filter (nil, nil). Errors are ErrInvalid wrapping a *search.Error.
func ParseFilter(target FilterTarget, src string) (*search.Filter, error) {
	f, err := search.Parse(target.Schema(), src)
	if err != nil {
		return nil, Errorf(ErrInvalid, "%w", err)
	}
	return f, nil
}

// ParseOrder parses an order_by for target; the list's default order,
// however spelt, is the zero Order. Errors are ErrInvalid wrapping a
// *search.Error.
func ParseOrder(target FilterTarget, src string) (search.Order, error) {
	o, err := search.ParseOrder(target.Schema(), src)
	if err != nil {
		return search.Order{}, Errorf(ErrInvalid, "%w", err)
	}
	return o, nil
}

// SortKey is an item's position in a non-default Order, for keyset
// pagination: a list given one continues after that item.
type SortKey struct {
	// Value is the item's value of the order's field: a time.Time for
	// times, a float64 for metrics; nil when the item has none (such items
	// sort last). Unused when the field is the list's unique key (name,
	// version): the tie-breaker below is the value then.
	Value any
	// The tie-breaker: the item's name (models) or version number
	// (versions).
	Name   string
	Number int
}

// listQuery is a list call's parsed filter and order.
type listQuery struct {
	target FilterTarget
	where  *search.Filter
	order  search.Order
}

func parseListQuery(target FilterTarget, filter, orderBy string) (listQuery, error) {
	where, err := ParseFilter(target, filter)
	if err != nil {
		return listQuery{}, err
	}
	order, err := ParseOrder(target, orderBy)
	if err != nil {
		return listQuery{}, err
	}
	return listQuery{target: target, where: where, order: order}, nil
}

// params are the canonical filter and order, for the listing a page token
// is bound to: spelling does not matter ("name" and "" are the default
// order, `a="x"` and `a = "x"` one filter), meaning does.
func (q listQuery) params() []string {
	return []string{q.where.String(), q.order.String()}
}

// orderType is the type of the order's field (0 in the default order).
func (q listQuery) orderType() search.Type {
	if q.order.IsZero() {
		return 0
	}
	return q.target.Schema().Fields[q.order.Field.Name].Type
}

// after returns the keyset position a page token (checked: made for this
// filter and order) holds for a non-default order: nil on the first page
// and in the default order, which keeps its own cursor fields.
func (q listQuery) after(token string, cur pageCursor) (*SortKey, error) {
	if token == "" || q.order.IsZero() {
		return nil, nil
	}
	k := &SortKey{Name: cur.Name, Number: int(cur.Num)}
	switch {
	case cur.Null:
	case q.orderType() == search.Time:
		t, err := cursorTime(cur.Time)
		if err != nil {
			return nil, err
		}
		k.Value = t
	case q.orderType() == search.Number:
		if cur.Metric == nil {
			return nil, Errorf(ErrInvalid, "invalid page_token")
		}
		k.Value = *cur.Metric
	}
	return k, nil
}

// modelCursor is the page token position of m.
func (q listQuery) modelCursor(m Model) pageCursor {
	c := pageCursor{Name: m.Name}
	switch q.order.Field.Name {
	case "created_at":
		c.Time = m.CreatedAt.UnixMicro()
	case "updated_at":
		c.Time = m.UpdatedAt.UnixMicro()
	}
	return c
}

// versionCursor is the page token position of v; metric is v's value of the
// order's metric (nil: none), when ordering by one.
func (q listQuery) versionCursor(v Version, metric *float64) pageCursor {
	c := pageCursor{Num: int64(v.Number)}
	switch q.order.Field.Name {
	case "created_at":
		c.Time = v.CreatedAt.UnixMicro()
	case "finalized_at":
		if v.FinalizedAt == nil {
			c.Null = true
		} else {
			c.Time = v.FinalizedAt.UnixMicro()
		}
	case "metrics":
		c.Metric, c.Null = metric, metric == nil
	}
	return c
}

// startList checks a searchable list call's filter, order, page size and
// page token together: the token must be one p made for operation op with
// the same parameters (params, then the canonical filter and order).
func (p *Pager) startList(op string, params []string, target FilterTarget, filter, orderBy string, size int, token string) (listQuery, listPage, pageCursor, *SortKey, error) {
	q, err := parseListQuery(target, filter, orderBy)
	if err != nil {
		return listQuery{}, listPage{}, pageCursor{}, nil, err
	}
	pg, cur, err := p.start(NewListing(op, slices.Concat(params, q.params())...), size, token)
	if err != nil {
		return listQuery{}, listPage{}, pageCursor{}, nil, err
	}
	after, err := q.after(token, cur)
	if err != nil {
		return listQuery{}, listPage{}, pageCursor{}, nil, err
	}
	return q, pg, cur, after, nil
}
