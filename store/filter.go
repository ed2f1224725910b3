package store

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/modelkeep/modelkeep/search"

	"gorm.io/gorm"

	"github.com/modelkeep/modelkeep"
)

// This file compiles a parsed filter (search.Filter) and order
// (search.Order) to SQL for GORM. Safety rests on two rules that the fuzz
// test checks: the SQL text is built only from the constants below (tables,
// columns, operators chosen by switch on the tree's enums), and every value
// and key from the request goes in as a ? argument.

// filterColumns maps the plain fields of each list to their columns.
var filterColumns = map[modelkeep.FilterTarget]map[string]string{
	modelkeep.FilterModels: {
		"name":        "models.name",
		"description": "models.description",
		"created_by":  "models.created_by",
		"created_at":  "models.created_at",
		"updated_at":  "models.updated_at",
	},
	modelkeep.FilterVersions: {
		"version":           "versions.number",
		"status":            "versions.status",
		"stage":             "versions.stage",
		"created_by":        "versions.created_by",
		"created_at":        "versions.created_at",
		"finalized_at":      "versions.finalized_at",
		"source.run_id":     "versions.source_run_id",
		"source.git_commit": "versions.source_git_commit",
	},
}

// keyedTable says how a keyed field (tags.<key>, ...) is looked up: the
// items whose id (itemCol of the outer table) is among the item ids of the
// side table's rows with that key and a matching value. Scoped tables have a
// model_id, which a version list fixes.
type keyedTable struct {
	itemCol, table, alias, idCol, keyCol, valueCol string
	scoped                                         bool
	// headCol, when set, holds the first headLen characters of the value
	// and is what the side table's search index holds (0033, 0036):
	// equalities compare it, and the value too when it is not shorter.
	headCol string
	// numberCol, when set, is the version number, last in the search index:
	// the rows of one key and value come in the list's default order.
	numberCol string
}

// headLen is the length of the value heads of version_tags and
// version_params, in characters.
const headLen = 255

var keyedTables = map[modelkeep.FilterTarget]map[string]keyedTable{
	modelkeep.FilterModels: {
		"tags": {itemCol: "models.id", table: "model_tags", alias: "mt", idCol: "model_id", keyCol: "tag_key", valueCol: "tag_value"},
	},
	modelkeep.FilterVersions: {
		"tags": {itemCol: "versions.id", table: "version_tags", alias: "vt", idCol: "version_id", keyCol: "tag_key", valueCol: "tag_value", scoped: true,
			headCol: "tag_value_head", numberCol: "version_number"},
		"params": {itemCol: "versions.id", table: "version_params", alias: "vp", idCol: "version_id", keyCol: "param_key", valueCol: "param_value", scoped: true,
			headCol: "param_value_head", numberCol: "version_number"},
		"metrics": {itemCol: "versions.id", table: "latest_metrics", alias: "lm", idCol: "version_id", keyCol: "metric_key", valueCol: "value", scoped: true},
	},
}

// sqlOps are the SQL spellings of the comparison operators.
var sqlOps = map[search.Operator]string{
	search.OpEq: "=", search.OpNe: "<>",
	search.OpLt: "<", search.OpLe: "<=", search.OpGt: ">", search.OpGe: ">=",
}

// sqlBuilder accumulates SQL text from constants and the arguments of its
// placeholders.
type sqlBuilder struct {
	sql  strings.Builder
	args []any
}

func (b *sqlBuilder) text(s string) { b.sql.WriteString(s) }

func (b *sqlBuilder) arg(v any) {
	b.sql.WriteByte('?')
	b.args = append(b.args, v)
}

// filterCompiler turns one filter into a WHERE fragment.
type filterCompiler struct {
	dialect string
	target  modelkeep.FilterTarget
	modelID int64 // the model a version list is of
	b       sqlBuilder
}

// compileFilter returns f as a WHERE fragment with ? placeholders, and its
// arguments. For versions, modelID is the model being listed: the side
// tables' search indexes start with it.
func compileFilter(dialect string, target modelkeep.FilterTarget, modelID int64, f *search.Filter) (string, []any, error) {
	if f == nil || f.Root == nil {
		return "", nil, nil
	}
	c := &filterCompiler{dialect: dialect, target: target, modelID: modelID}
	if err := c.expr(f.Root); err != nil {
		return "", nil, err
	}
	return c.b.sql.String(), c.b.args, nil
}

// andTerms returns the terms of an AND at the root of a filter, or the root
// itself as the only term.
func andTerms(root search.Expr) []search.Expr {
	if and, isAnd := root.(*search.And); isAnd {
		return and.Terms
	}
	return []search.Expr{root}
}

// fixedJoin returns the join keyword that keeps the tables in the order
// written, and the select modifier that goes with it: STRAIGHT_JOIN on
// MySQL, CROSS JOIN on SQLite (whose planner never reorders it).
func fixedJoin(dialect string) (join, selectModifier string) {
	if dialect == dialectSQLite {
		return "CROSS JOIN", ""
	}
	return "JOIN", "STRAIGHT_JOIN "
}

// compileDrivenVersionList compiles a version list in the default order
// (newest first) whose filter requires a tag or a param to equal a string,
// as one query read from that equality's index. The side table's rows of
// one key and value come sorted by version number there (0035, 0038), so
// the engine reads them newest first, checks each version's other
// conditions by primary key and stops when it has its page: the work grows
// with the page and the conditions' selectivity, not with the model's size.
// Left to choose, MariaDB starts from whichever condition its statistics
// favour (often a metric range of thousands of rows) and then sorts what
// survives, so the join order is fixed here: STRAIGHT_JOIN on MySQL, CROSS
// JOIN on SQLite. The equality read first is the first one in the filter.
//
// ok is false when the list does not qualify (no such equality at the top
// level of the filter, or another order); compileFilter handles it then.
func compileDrivenVersionList(dialect string, modelID int64, f modelkeep.VersionFilter) (query string, args []any, ok bool, err error) {
	if f.Where == nil || f.Where.Root == nil || !f.Order.IsZero() {
		return "", nil, false, nil
	}
	c := &filterCompiler{dialect: dialect, target: modelkeep.FilterVersions, modelID: modelID}
	terms := andTerms(f.Where.Root)
	drive := -1
	for i, t := range terms {
		if cond, isCond := t.(*search.Condition); isCond && c.drivable(cond) {
			drive = i
			break
		}
	}
	if drive < 0 {
		return "", nil, false, nil
	}
	driver := terms[drive].(*search.Condition)
	dt, _ := c.keyedTable(driver)

	join, sel := fixedJoin(dialect)
	sel = "SELECT " + sel + stateColumns + " FROM "
	join = " " + join + " "
	c.b.text(sel + dt.table + " d")
	keyed, rest := c.splitKeyed(terms, drive)
	if err := c.joinKeyed(join, "d", dt, keyed); err != nil {
		return "", nil, false, err
	}
	c.b.text(join + "versions ON versions.id = d." + dt.idCol + " WHERE d.model_id = ")
	c.b.arg(modelID)
	c.b.text(" AND ")
	if err := c.keyedMatch(dt, "d", driver); err != nil {
		return "", nil, false, err
	}
	if f.BeforeNumber != 0 {
		c.b.text(" AND d." + dt.numberCol + " < ")
		c.b.arg(f.BeforeNumber)
	}
	if err := c.listTail(f, rest, "d."+dt.numberCol, f.Limit); err != nil {
		return "", nil, false, err
	}
	return c.b.sql.String(), c.b.args, true, nil
}

// keyedTerm is a keyed condition of an AND (tags.<key> = ..., ...), read
// from its side table as alias.
type keyedTerm struct {
	alias string
	kt    keyedTable
	cond  *search.Condition
}

// splitKeyed separates the keyed conditions of terms, all but terms[skip]
// (-1: none skipped), from the others, which the list's WHERE checks.
func (c *filterCompiler) splitKeyed(terms []search.Expr, skip int) (keyed []keyedTerm, others []search.Expr) {
	for i, t := range terms {
		if i == skip {
			continue
		}
		if cond, isCond := t.(*search.Condition); isCond {
			if kt, ok := c.keyedTable(cond); ok {
				keyed = append(keyed, keyedTerm{alias: fmt.Sprintf("j%d", i), kt: kt, cond: cond})
				continue
			}
		}
		others = append(others, t)
	}
	return keyed, others
}

// joinKeyed joins the side table of each keyed term on the primary key
// (version id, key) of the driving side table dt, read as alias: at most one
// row each, so a join keeps or drops a version as the IN subquery would.
func (c *filterCompiler) joinKeyed(join, alias string, dt keyedTable, keyed []keyedTerm) error {
	for _, k := range keyed {
		c.b.text(join + k.kt.table + " " + k.alias + " ON " + k.alias + "." + k.kt.idCol + " = " + alias + "." + dt.idCol + " AND ")
		if err := c.keyedMatch(k.kt, k.alias, k.cond); err != nil {
			return err
		}
	}
	return nil
}

// listTail ends a version list's query: the list's stage and status, the
// rest of its filter, newest first by orderCol, at most limit (0: all).
func (c *filterCompiler) listTail(f modelkeep.VersionFilter, rest []search.Expr, orderCol string, limit int) error {
	if f.Stage != "" {
		c.b.text(" AND versions.stage = ")
		c.b.arg(string(f.Stage))
	}
	if f.Status != "" {
		c.b.text(" AND versions.status = ")
		c.b.arg(string(f.Status))
	}
	for _, t := range rest {
		c.b.text(" AND ")
		if err := c.expr(t); err != nil {
			return err
		}
	}
	c.b.text(" ORDER BY " + orderCol + " DESC")
	if limit > 0 {
		c.b.text(" LIMIT ")
		c.b.arg(limit)
	}
	return nil
}

// drivable reports whether a version list can be read from cond's index in
// number order: an equality of a tag or param with one string.
func (c *filterCompiler) drivable(cond *search.Condition) bool {
	kt, keyed := c.keyedTable(cond)
	if !keyed || kt.numberCol == "" || cond.Op != search.OpEq || len(cond.Values) != 1 {
		return false
	}
	_, _, ok := valueHeads(kt, cond)
	return ok
}

func (c *filterCompiler) expr(e search.Expr) error {
	switch e := e.(type) {
	case *search.And:
		return c.join(e.Terms, " AND ")
	case *search.Or:
		return c.join(e.Terms, " OR ")
	case *search.Condition:
		return c.condition(e)
	}
	return fmt.Errorf("compile filter: unexpected node %T", e)
}

func (c *filterCompiler) join(terms []search.Expr, op string) error {
	c.b.text("(")
	for i, t := range terms {
		if i > 0 {
			c.b.text(op)
		}
		if err := c.expr(t); err != nil {
			return err
		}
	}
	c.b.text(")")
	return nil
}

func (c *filterCompiler) condition(cond *search.Condition) error {
	if len(cond.Values) == 0 {
		return fmt.Errorf("compile filter: %s has no value", cond.Field)
	}
	if col, ok := filterColumns[c.target][cond.Field.Name]; ok && cond.Field.Key == "" {
		return c.compare(col, cond)
	}
	kt, ok := c.keyedTable(cond)
	if !ok {
		return modelkeep.Errorf(modelkeep.ErrInvalid, "cannot filter on %s here", cond.Field)
	}
	// An IN subquery rather than EXISTS: it does not depend on the outer
	// row, so each engine may drive the query from the side table's
	// index when it is selective, or probe it row by row when it is not.
	c.b.text(kt.itemCol + " IN (SELECT " + kt.alias + "." + kt.idCol + " FROM " + kt.table + " " + kt.alias + " WHERE ")
	if kt.scoped {
		c.b.text(kt.alias + ".model_id = ")
		c.b.arg(c.modelID)
		c.b.text(" AND ")
	}
	if err := c.keyedMatch(kt, kt.alias, cond); err != nil {
		return err
	}
	c.b.text(")")
	return nil
}

// keyedTable returns the side table of a keyed condition (tags.<key>, ...).
func (c *filterCompiler) keyedTable(cond *search.Condition) (keyedTable, bool) {
	kt, ok := keyedTables[c.target][cond.Field.Name]
	return kt, ok && cond.Field.Key != ""
}

// keyedMatch writes the condition on a row of kt (as alias) that holds
// cond's key with a matching value.
func (c *filterCompiler) keyedMatch(kt keyedTable, alias string, cond *search.Condition) error {
	a := alias + "."
	c.b.text(a + kt.keyCol + " = ")
	c.b.arg(cond.Field.Key)
	c.b.text(" AND ")
	if heads, whole, ok := valueHeads(kt, cond); ok {
		// The index holds the head: compare it, and the whole value only
		// when a value is too long for its head to be all of it.
		headCond := *cond
		headCond.Values = heads
		if err := c.compare(a+kt.headCol, &headCond); err != nil {
			return err
		}
		if whole {
			c.b.text(" AND ")
			if err := c.compare(a+kt.valueCol, cond); err != nil {
				return err
			}
			return c.exactly(a+kt.valueCol, cond)
		}
		// A value shorter than a head is its head.
		return c.exactly(a+kt.headCol, &headCond)
	}
	if _, isString := cond.Values[0].(string); isString && cond.Op == search.OpNe && c.dialect == dialectMySQL {
		// Exact, as exactly makes = and IN.
		c.b.text("CAST(" + a + kt.valueCol + " AS BINARY) <> ")
		c.b.arg(cond.Values[0])
		return nil
	}
	if err := c.compare(a+kt.valueCol, cond); err != nil {
		return err
	}
	return c.exactly(a+kt.valueCol, cond)
}

// exactly adds to an equality (= or IN) of strings that col holds just
// the values, on MySQL: its utf8mb4_bin collation ignores trailing spaces
// ("risk" = "risk "), a binary string compares every byte, as SQLite does.
// The equality before it still picks the index range; this only drops the
// rows that differ by trailing spaces.
func (c *filterCompiler) exactly(col string, cond *search.Condition) error {
	if c.dialect != dialectMySQL || (cond.Op != search.OpEq && cond.Op != search.OpIn) {
		return nil
	}
	for _, v := range cond.Values {
		if _, ok := v.(string); !ok {
			return nil
		}
	}
	c.b.text(" AND ")
	exact := *cond
	exact.Op = search.OpIn
	return c.compare("CAST("+col+" AS BINARY)", &exact)
}

// valueHeads returns the heads of cond's values when cond is an equality
// (= or IN) on a table with value heads, and whether a value is as long as
// a head or longer, so that equal heads do not mean equal values.
func valueHeads(kt keyedTable, cond *search.Condition) (heads []any, whole, ok bool) {
	if kt.headCol == "" || (cond.Op != search.OpEq && cond.Op != search.OpIn) {
		return nil, false, false
	}
	heads = make([]any, len(cond.Values))
	for i, v := range cond.Values {
		str, isString := v.(string)
		if !isString || !utf8.ValidString(str) {
			return nil, false, false
		}
		if n := utf8.RuneCountInString(str); n >= headLen {
			whole = true
			if n > headLen {
				str = string([]rune(str)[:headLen])
			}
		}
		heads[i] = str
	}
	return heads, whole, true
}

// compare writes `col <op> <values>`.
func (c *filterCompiler) compare(col string, cond *search.Condition) error {
	for _, v := range cond.Values {
		switch v.(type) {
		case string, int64, float64, time.Time:
		default:
			return fmt.Errorf("compile filter: %s: unexpected value type %T", cond.Field, v)
		}
	}
	switch cond.Op {
	case search.OpIn:
		c.b.text(col + " IN (")
		for i, v := range cond.Values {
			if i > 0 {
				c.b.text(", ")
			}
			c.b.arg(sqlValue(v))
		}
		c.b.text(")")
	case search.OpLike:
		pat, ok := cond.Values[0].(string)
		if !ok {
			return fmt.Errorf("compile filter: LIKE on %s needs a string pattern", cond.Field)
		}
		// LIKE is case-sensitive in both dialects: MySQL's LIKE is, on
		// these utf8mb4_bin columns; SQLite's LIKE is not, but its GLOB is.
		if c.dialect == dialectSQLite {
			c.b.text(col + " GLOB ")
			c.b.arg(likeToGlob(pat))
		} else {
			// CONCAT(col) is col, but keeps the optimizer from turning a
			// pattern's prefix into an index range: MariaDB 10.11 builds
			// too narrow a range on utf8mb4_bin and misses values with
			// 4-byte characters (emoji) right after the prefix. Tags and
			// params are still found by their (model_id, key) index range.
			c.b.text("CONCAT(" + col + ") LIKE ")
			c.b.arg(likeToMySQL(pat))
			c.b.text(" ESCAPE '!'")
		}
	default:
		op, ok := sqlOps[cond.Op]
		if !ok || len(cond.Values) != 1 {
			return fmt.Errorf("compile filter: operator %q with %d values", cond.Op, len(cond.Values))
		}
		c.b.text(col + " " + op + " ")
		c.b.arg(sqlValue(cond.Values[0]))
	}
	return nil
}

// sqlValue normalises a value for the database: times in UTC at the
// precision the columns keep.
func sqlValue(v any) any {
	if t, ok := v.(time.Time); ok {
		return utc(t)
	}
	return v
}

// likeToMySQL turns a filter LIKE pattern (% and _ wildcards, \ escaping the
// next character) into a MySQL LIKE pattern with ESCAPE '!' (see
// escapeLike for why '!').
func likeToMySQL(pat string) string {
	var b strings.Builder
	for i := 0; i < len(pat); i++ {
		switch ch := pat[i]; {
		case ch == '\\' && i+1 < len(pat):
			i++
			b.WriteString(escapeLike(pat[i : i+1]))
		case ch == '%' || ch == '_':
			b.WriteByte(ch)
		default:
			b.WriteString(escapeLike(pat[i : i+1]))
		}
	}
	return b.String()
}

// likeToGlob turns a filter LIKE pattern into an SQLite GLOB pattern: * and
// ? are GLOB's wildcards, and [c] matches c literally. It works on bytes:
// a multi-byte character passes through byte by byte, unchanged.
func likeToGlob(pat string) string {
	var b strings.Builder
	for i := 0; i < len(pat); i++ {
		switch ch := pat[i]; {
		case ch == '\\' && i+1 < len(pat):
			i++
			b.WriteString(globLiteral(pat[i : i+1]))
		case ch == '%':
			b.WriteByte('*')
		case ch == '_':
			b.WriteByte('?')
		default:
			b.WriteString(globLiteral(pat[i : i+1]))
		}
	}
	return b.String()
}

// globLiteral returns the GLOB pattern that matches the byte c literally.
func globLiteral(c string) string {
	switch c {
	case "*", "?", "[":
		return "[" + c + "]"
	}
	return c
}

// Orders.

// sortSpec is how a list is sorted by one field: the column, whether it may
// be NULL (no value: sorted last) and the tie-breaker column ("" when the
// column is unique itself). Sorts by a metric are not compiled here: they
// read the metric's index in two phases (metricorder.go).
type sortSpec struct {
	col      string
	nullable bool
	tie      string
}

var sortColumns = map[modelkeep.FilterTarget]map[string]sortSpec{
	modelkeep.FilterModels: {
		"name":       {col: "models.name"},
		"created_at": {col: "models.created_at", tie: "models.name"},
		"updated_at": {col: "models.updated_at", tie: "models.name"},
	},
	modelkeep.FilterVersions: {
		"version":      {col: "versions.number"},
		"created_at":   {col: "versions.created_at", tie: "versions.number"},
		"finalized_at": {col: "versions.finalized_at", nullable: true, tie: "versions.number"},
	},
}

// compiledOrder is an Order in SQL: the ORDER BY list and, when continuing
// a listing, the keyset condition.
type compiledOrder struct {
	orderBy   string
	where     string
	whereArgs []any
}

// applyOrder sorts q by o (not zero) for target, continuing after `after`
// when it is not nil.
func applyOrder(q *gorm.DB, target modelkeep.FilterTarget, o search.Order, after *modelkeep.SortKey) (*gorm.DB, error) {
	c, err := compileOrder(target, o, after)
	if err != nil {
		return nil, err
	}
	if c.where != "" {
		q = q.Where(c.where, c.whereArgs...)
	}
	return q.Order(c.orderBy), nil
}

// compileOrder compiles o (not zero) for target, continuing after `after`
// when it is not nil.
func compileOrder(target modelkeep.FilterTarget, o search.Order, after *modelkeep.SortKey) (compiledOrder, error) {
	spec, ok := sortColumns[target][o.Field.Name]
	if !ok || o.Field.Key != "" {
		return compiledOrder{}, modelkeep.Errorf(modelkeep.ErrInvalid, "cannot sort by %s here", o.Field)
	}
	var out compiledOrder
	dir, cmp := " ASC", ">"
	if o.Desc {
		dir, cmp = " DESC", "<"
	}
	// Both databases sort NULL lowest: first ascending, last descending.
	// Items without a value come last in both directions, so ascending
	// sorts by "is NULL" first.
	var order []string
	if spec.nullable && !o.Desc {
		order = append(order, spec.col+" IS NULL")
	}
	order = append(order, spec.col+dir)
	if spec.tie != "" {
		order = append(order, spec.tie+dir)
	}
	out.orderBy = strings.Join(order, ", ")
	if after == nil {
		return out, nil
	}

	var tie any = after.Number
	if target == modelkeep.FilterModels {
		tie = after.Name
	}
	var b sqlBuilder
	switch {
	case spec.tie == "":
		// The column is the unique key: the tie-breaker is its value.
		b.text(spec.col + " " + cmp + " ")
		b.arg(tie)
	case after.Value == nil:
		if !spec.nullable {
			return compiledOrder{}, modelkeep.Errorf(modelkeep.ErrInvalid, "invalid page_token")
		}
		// The last item had no value: the rest are those without one.
		b.text("(" + spec.col + " IS NULL AND " + spec.tie + " " + cmp + " ")
		b.arg(tie)
		b.text(")")
	default:
		v, err := sortValue(after.Value)
		if err != nil {
			return compiledOrder{}, err
		}
		b.text("((" + spec.col + " " + cmp + " ")
		b.arg(v)
		b.text(" OR (" + spec.col + " = ")
		b.arg(v)
		b.text(" AND " + spec.tie + " " + cmp + " ")
		b.arg(tie)
		b.text("))")
		if spec.nullable {
			b.text(" OR " + spec.col + " IS NULL)")
		} else {
			// Redundant, but a plain range the engines can seek to.
			b.text(" AND " + spec.col + " " + cmp + "= ")
			b.arg(v)
			b.text(")")
		}
	}
	out.where, out.whereArgs = b.sql.String(), b.args
	return out, nil
}

// sortValue checks a keyset value against the column it continues: every
// column compiled here is a time.
func sortValue(v any) (any, error) {
	if t, ok := v.(time.Time); ok {
		return utc(t), nil
	}
	return nil, modelkeep.Errorf(modelkeep.ErrInvalid, "invalid page_token")
}
