package modelkeep

import (
	"strconv"
)

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

// listQuery is a list call's parsed filter and order, with the fingerprint
// that ties its page tokens to them.
type listQuery struct {
	target FilterTarget
	where  *Filter
	order  Order
	// sum fingerprints the canonical filter and order; "" for no filter in
	// the default order, so tokens made before filters existed stay valid.
	sum string
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
	q := listQuery{target: target, where: where, order: order}
	if where != nil || !order.IsZero() {
		q.sum = listingSum(strconv.Itoa(int(target)), where.String(), order.String())
	}
	return q, nil
}

// orderType is the type of the order's field (0 in the default order).
func (q listQuery) orderType() FieldType {
	if q.order.IsZero() {
		return 0
	}
	return fieldsOf(q.target)[q.order.Field.Name].typ
}

// after checks a page token against q and returns the keyset position it
// holds for a non-default order (nil on the first page and in the default
// order, which keeps its own cursor fields). A token made for another filter
// or order is refused: its position means nothing in this one.
func (q listQuery) after(token string, cur pageCursor) (*SortKey, error) {
	if token == "" {
		return nil, nil
	}
	if cur.Query != q.sum {
		return nil, Errorf(ErrInvalid, "page_token belongs to a listing with another filter or order_by; leave it out to start from the first page")
	}
	if q.order.IsZero() {
		return nil, nil
	}
	k := &SortKey{Name: cur.Name, Number: int(cur.Num)}
	switch {
	case cur.Null:
	case q.orderType() == FieldTime:
		t, err := cursorTime(cur.Time)
		if err != nil {
			return nil, err
		}
		k.Value = t
	case q.orderType() == FieldNumber:
		if cur.Metric == nil {
			return nil, Errorf(ErrInvalid, "invalid page_token")
		}
		k.Value = *cur.Metric
	}
	return k, nil
}

// modelCursor is the page token position of m.
func (q listQuery) modelCursor(m Model) pageCursor {
	c := pageCursor{Name: m.Name, Query: q.sum}
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
	c := pageCursor{Num: int64(v.Number), Query: q.sum}
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
// page token together (the token must belong to the same filter and order).
func startList(target FilterTarget, filter, orderBy string, size int, token string) (listQuery, int, pageCursor, *SortKey, error) {
	q, err := parseListQuery(target, filter, orderBy)
	if err != nil {
		return listQuery{}, 0, pageCursor{}, nil, err
	}
	limit, cur, err := startPage(size, token)
	if err != nil {
		return listQuery{}, 0, pageCursor{}, nil, err
	}
	after, err := q.after(token, cur)
	if err != nil {
		return listQuery{}, 0, pageCursor{}, nil, err
	}
	return q, limit, cur, after, nil
}
