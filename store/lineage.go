package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/modelkeep/modelkeep/internal/boundedmap"

	"github.com/modelkeep/modelkeep"
)

type lineageEdgeRow struct {
	ID        int64     `gorm:"column:id;primaryKey"`
	FromType  string    `gorm:"column:from_type"`
	FromID    string    `gorm:"column:from_id"`
	ToType    string    `gorm:"column:to_type"`
	ToID      string    `gorm:"column:to_id"`
	Relation  string    `gorm:"column:relation"`
	CreatedAt time.Time `gorm:"column:created_at;autoCreateTime:false"`
	// The model id and number of each end that is a version (0047), NULL
	// for other node types.
	FromModelID sql.NullInt64 `gorm:"column:from_model_id"`
	FromNumber  sql.NullInt64 `gorm:"column:from_number"`
	ToModelID   sql.NullInt64 `gorm:"column:to_model_id"`
	ToNumber    sql.NullInt64 `gorm:"column:to_number"`

	// The walk reads the far end's version columns with the edge (level),
	// then names its model (nameModels).
	farModelID sql.NullInt64  `gorm:"-"`
	farNumber  sql.NullInt64  `gorm:"-"`
	farModel   sql.NullString `gorm:"-"`
}

func (lineageEdgeRow) TableName() string { return "lineage_edges" }

// nodeKey is a node as lineage_edges names it: its type and the row id of
// its dataset, run or version (as text), or its deployment id.
type nodeKey struct {
	typ modelkeep.LineageNodeType
	id  string
}

type edgeKey struct {
	from, to nodeKey
	relation string
}

func rowKey(typ modelkeep.LineageNodeType, id int64) nodeKey {
	return nodeKey{typ: typ, id: strconv.FormatInt(id, 10)}
}

// AddLineage records links; a link that exists already is left alone (the
// unique key on the whole edge, with ON CONFLICT DO NOTHING). ErrNotFound
// when a node does not exist.
func (s *Store) AddLineage(ctx context.Context, links []modelkeep.LineageLink) error {
	if len(links) == 0 {
		return nil
	}
	return s.inTxStore(ctx, func(tx *Store) error {
		keys := map[modelkeep.LineageRef]edgeEnd{}
		rows := make([]lineageEdgeRow, 0, len(links))
		now := tx.nowUTC()
		for _, l := range links {
			from, err := tx.edgeEndOf(ctx, l.From, keys)
			if err != nil {
				return err
			}
			to, err := tx.edgeEndOf(ctx, l.To, keys)
			if err != nil {
				return err
			}
			rows = append(rows, lineageEdgeRow{FromType: string(from.key.typ), FromID: from.key.id,
				ToType: string(to.key.typ), ToID: to.key.id, Relation: l.Relation, CreatedAt: now,
				FromModelID: from.modelID, FromNumber: from.number, ToModelID: to.modelID, ToNumber: to.number})
		}
		db := tx.db.WithContext(ctx)
		if err := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&rows).Error; err != nil {
			return dbErr("add lineage edges", err)
		}
		return nil
	})
}

// edgeEnd is one end of an edge as lineage_edges records it: the node, and
// when it is a version, its model's id and its number.
type edgeEnd struct {
	key             nodeKey
	modelID, number sql.NullInt64
}

// edgeEndOf finds the row behind a node, remembering it in known.
func (s *Store) edgeEndOf(ctx context.Context, ref modelkeep.LineageRef, known map[modelkeep.LineageRef]edgeEnd) (edgeEnd, error) {
	if e, ok := known[ref]; ok {
		return e, nil
	}
	db := s.db.WithContext(ctx)
	var e edgeEnd
	switch ref.Type {
	case modelkeep.NodeDataset:
		row, err := s.datasetRowOf(ctx, ref.Name, ref.Version)
		if err != nil {
			return edgeEnd{}, err
		}
		e.key = rowKey(ref.Type, row.ID)
	case modelkeep.NodeRun:
		var row runRow
		if err := db.Select("id").Where("run_id = ?", ref.Name).Take(&row).Error; err != nil {
			return edgeEnd{}, notFound("find run", err, "run %q not found", ref.Name)
		}
		e.key = rowKey(ref.Type, row.ID)
	case modelkeep.NodeModelVersion:
		row, err := s.versionRowOf(ctx, ref.Name, ref.Number)
		if err != nil {
			return edgeEnd{}, err
		}
		e.key = rowKey(ref.Type, row.ID)
		e.modelID = sql.NullInt64{Int64: row.ModelID, Valid: true}
		e.number = sql.NullInt64{Int64: int64(row.Number), Valid: true}
	case modelkeep.NodeDeployment:
		var row deploymentRow
		if err := db.Select("id").Where("id = ?", ref.Name).Take(&row).Error; err != nil {
			return edgeEnd{}, notFound("find deployment", err, "deployment %q not found", ref.Name)
		}
		e.key = nodeKey{typ: ref.Type, id: row.ID}
	default:
		return edgeEnd{}, fmt.Errorf("lineage node type %q is unknown", ref.Type)
	}
	known[ref] = e
	return e, nil
}

// Lineage walks the graph around q.Start breadth-first: upstream along
// edges into the frontier, downstream along edges out of it, one query per
// level for both directions (an index range per direction and node type),
// up to q.Depth levels. It stops adding nodes at q.MaxNodes and edges at
// q.MaxEdges, and then says Truncated.
//
// The versions an edge reaches come with it (its version ends, 0047), so
// that the walk neither shows nor passes through a version outside
// q.Models or one that is gone: edges left behind by rows deleted before
// DeleteModel removed them have no version end (0048) and are dropped with
// their nodes. The other nodes are labelled at the end, one query per type.
func (s *Store) Lineage(ctx context.Context, q modelkeep.LineageQuery) (modelkeep.LineageGraph, error) {
	w := &lineageWalk{
		db: s.db.WithContext(ctx), hot: s.hotDB(ctx), q: q, scope: modelkeep.Actor{Models: q.Models}, dialect: s.dialect, known: s.nodeLabels, models: s.modelNames,
		admitted: map[nodeKey]bool{}, hidden: map[nodeKey]bool{}, edges: map[edgeKey]bool{},
		refs: map[nodeKey]modelkeep.LineageRef{}, labels: map[nodeKey]string{},
	}
	var dirs []*walkDirection
	if q.Upstream {
		dirs = append(dirs, &walkDirection{})
	}
	if q.Downstream {
		dirs = append(dirs, &walkDirection{downstream: true})
	}
	// The first level is read by the start's name, in one query that
	// finds the version with its edges; a version without edges is
	// looked up on its own (which also tells a missing model from a
	// missing version).
	first, rootID, err := w.startLevel(dirs, q.MaxEdges+1)
	if err != nil {
		return modelkeep.LineageGraph{}, err
	}
	if rootID == "" {
		id, err := s.versionIDByName(ctx, q.Start.Model, q.Start.Version)
		if err != nil {
			return modelkeep.LineageGraph{}, err
		}
		rootID = strconv.FormatInt(id, 10)
	}
	root := nodeKey{typ: modelkeep.NodeModelVersion, id: rootID}
	w.refs[root] = modelkeep.VersionNode(q.Start.Model, q.Start.Version)
	w.admit(root)
	for _, d := range dirs {
		d.frontier, d.seen = []nodeKey{root}, map[nodeKey]bool{root: true}
	}
	if err := w.walk(dirs, first); err != nil {
		return modelkeep.LineageGraph{}, err
	}
	if err := w.label(); err != nil {
		return modelkeep.LineageGraph{}, err
	}
	return w.graph(root), nil
}

// versionIDByName returns the row id of a version, from the indexes alone;
// ErrNotFound when the model or the version does not exist.
func (s *Store) versionIDByName(ctx context.Context, model string, number int) (int64, error) {
	var ids []int64
	err := s.hotDB(ctx).Raw("SELECT versions.id FROM versions JOIN models ON models.id = versions.model_id "+
		"WHERE models.name = ? AND versions.number = ?", model, number).Scan(&ids).Error
	if err != nil {
		return 0, dbErr("get version", err)
	}
	if len(ids) == 1 {
		return ids[0], nil
	}
	return 0, s.versionNotFound(ctx, model, number)
}

// lineageWalk is the state of one Lineage call.
type lineageWalk struct {
	db      *gorm.DB
	hot     *gorm.DB // prepared (hotDB), for level queries whose text repeats
	q       modelkeep.LineageQuery
	scope   modelkeep.Actor
	dialect string
	known   *nodeLabels     // datasets and runs met before
	models  *modelNamesByID // models met before

	admitted  map[nodeKey]bool // nodes in the answer, within MaxNodes
	order     []nodeKey
	hidden    map[nodeKey]bool // versions out of scope or gone: not shown, not walked through
	edges     map[edgeKey]bool
	edgeOrder []edgeKey
	refs      map[nodeKey]modelkeep.LineageRef // what each node is, once known
	labels    map[nodeKey]string               // deployment labels
	truncated bool
}

// admit adds a node to the answer unless the node cap is reached.
func (w *lineageWalk) admit(k nodeKey) bool {
	if w.admitted[k] {
		return true
	}
	if len(w.order) >= w.q.MaxNodes {
		w.truncated = true
		return false
	}
	w.admitted[k] = true
	w.order = append(w.order, k)
	return true
}

// walkDirection is one direction of the walk: its frontier and the nodes
// it has reached.
type walkDirection struct {
	downstream bool
	frontier   []nodeKey
	seen       map[nodeKey]bool
}

// ends names the end of an edge that touches the frontier and the end
// away from it: "to" and "from" upstream (the edges into the frontier),
// "from" and "to" downstream.
func (d *walkDirection) ends() (near, far string) {
	if d.downstream {
		return "from", "to"
	}
	return "to", "from"
}

// far is the end of r away from the frontier.
func (d *walkDirection) far(r lineageEdgeRow) nodeKey {
	if d.downstream {
		return nodeKey{modelkeep.LineageNodeType(r.ToType), r.ToID}
	}
	return nodeKey{modelkeep.LineageNodeType(r.FromType), r.FromID}
}

// walk runs the breadth-first walk, both directions level by level: one
// query reads a level's edges in both directions with the versions they
// reach, so a walk of depth d takes d queries at most. The first level's
// edges are given (startLevel).
func (w *lineageWalk) walk(dirs []*walkDirection, first [][]lineageEdgeRow) error {
	for level := 0; level < w.q.Depth; level++ {
		var active []*walkDirection
		for _, d := range dirs {
			if len(d.frontier) > 0 {
				active = append(active, d)
			}
		}
		if len(active) == 0 {
			return nil
		}
		budget := w.q.MaxEdges - len(w.edgeOrder)
		if budget <= 0 {
			w.truncated = true
			return nil
		}
		rows := first // every direction is active at the first level
		if level > 0 {
			query, args := levelQuery(w.dialect, active, budget+1)
			// Prepared (w.hot) only when the text is one of the few a
			// frontier of single nodes makes; a text per frontier size
			// would churn the statement cache and push out the hot reads.
			db := w.db
			if singleNodes(active) {
				db = w.hot
			}
			var err error
			if rows, err = w.readLevel(db, query, args, len(active)); err != nil {
				return err
			}
		}
		if err := w.nameModels(rows); err != nil {
			return err
		}
		for i, d := range active {
			for _, r := range rows[i] {
				w.learnVersion(d.far(r), r)
			}
		}
		for i, d := range active {
			d.frontier = w.follow(d, rows[i])
		}
	}
	return nil
}

// follow adds the edges of one level in direction d, within the edge
// budget, and returns the next frontier.
func (w *lineageWalk) follow(d *walkDirection, rows []lineageEdgeRow) []nodeKey {
	var next []nodeKey
	for _, r := range rows {
		other := d.far(r)
		if w.hidden[other] {
			continue
		}
		e := edgeKey{
			from:     nodeKey{modelkeep.LineageNodeType(r.FromType), r.FromID},
			to:       nodeKey{modelkeep.LineageNodeType(r.ToType), r.ToID},
			relation: r.Relation,
		}
		if !w.edges[e] && len(w.edgeOrder) >= w.q.MaxEdges {
			w.truncated = true
			return next
		}
		if !w.admit(other) {
			continue
		}
		if !w.edges[e] {
			w.edges[e] = true
			w.edgeOrder = append(w.edgeOrder, e)
		}
		if !d.seen[other] {
			d.seen[other] = true
			next = append(next, other)
		}
	}
	return next
}

// startLevel reads the first level of the walk from the start version
// named by w.q.Start (startQuery): for each direction at most limit edges,
// and the start's row id as the edges name it, "" when it has none.
func (w *lineageWalk) startLevel(dirs []*walkDirection, limit int) ([][]lineageEdgeRow, string, error) {
	query, args := startQuery(w.dialect, dirs, w.q.Start, limit)
	rows, err := w.readLevel(w.hot, query, args, len(dirs))
	if err != nil {
		return nil, "", err
	}
	for i, d := range dirs {
		if len(rows[i]) > 0 {
			if d.downstream {
				return rows, rows[i][0].FromID, nil
			}
			return rows, rows[i][0].ToID, nil
		}
	}
	return rows, "", nil
}

// readLevel runs a level's query (levelQuery, startQuery) and returns its
// edges by direction: rows[i] are the edges of the i-th direction.
func (w *lineageWalk) readLevel(db *gorm.DB, query string, args []any, dirs int) ([][]lineageEdgeRow, error) {
	sqlRows, err := db.Raw(query, args...).Rows()
	if err != nil {
		return nil, dbErr("read lineage edges", err)
	}
	defer sqlRows.Close()
	out := make([][]lineageEdgeRow, dirs)
	for sqlRows.Next() {
		var dir int
		var r lineageEdgeRow
		if err := sqlRows.Scan(&dir, &r.FromType, &r.FromID, &r.ToType, &r.ToID, &r.Relation, &r.farModelID, &r.farNumber); err != nil {
			return nil, dbErr("read lineage edges", err)
		}
		if dir < 0 || dir >= len(out) {
			return nil, fmt.Errorf("read lineage edges: unexpected direction %d", dir)
		}
		out[dir] = append(out[dir], r)
	}
	if err := sqlRows.Err(); err != nil {
		return nil, dbErr("read lineage edges", err)
	}
	return out, nil
}

// levelQuery is a UNION ALL of one SELECT per direction, each an index
// range per node type of its frontier, answered from the index alone
// (0049): ix_lineage_edges_to upstream, ix_lineage_edges_from downstream.
// The far end's version, when it is one, comes with the edge: its model's
// id and its number (a join to versions cost a quarter of the query). The
// model's name comes from memory (nameModels): a join to models cost a
// sixth.
func levelQuery(dialect string, dirs []*walkDirection, limit int) (string, []any) {
	parts := make([]string, len(dirs))
	var args []any
	for i, d := range dirs {
		byType := map[modelkeep.LineageNodeType][]string{}
		for _, k := range d.frontier {
			byType[k.typ] = append(byType[k.typ], k.id)
		}
		near, far := d.ends()
		var conds []string
		for _, typ := range slices.Sorted(maps.Keys(byType)) {
			conds = append(conds, "(e."+near+"_type = ? AND e."+near+"_id IN ?)")
			args = append(args, string(typ), byType[typ])
		}
		parts[i] = fmt.Sprintf("SELECT %d AS dir, %s FROM lineage_edges e WHERE %s LIMIT ?",
			i, edgeColumns(far), strings.Join(conds, " OR "))
		args = append(args, limit)
	}
	return unionOfLimited(dialect, parts), args
}

// singleNodes reports whether each direction's frontier holds at most one
// node of each type (a chain of versions, a version and its dataset): then
// levelQuery's text depends only on the node types, so it repeats.
func singleNodes(dirs []*walkDirection) bool {
	for _, d := range dirs {
		seen := map[modelkeep.LineageNodeType]bool{}
		for _, k := range d.frontier {
			if seen[k.typ] {
				return false
			}
			seen[k.typ] = true
		}
	}
	return true
}

// startQuery is levelQuery for a frontier of one version, named by its
// model and number: the model's id is a subquery, and each direction reads
// the version's end of the edges (ix_lineage_edges_to_version,
// ix_lineage_edges_from_version, 0050), so the version needs no look-up
// of its own.
func startQuery(dialect string, dirs []*walkDirection, start modelkeep.VersionRef, limit int) (string, []any) {
	parts := make([]string, len(dirs))
	var args []any
	for i, d := range dirs {
		near, far := d.ends()
		parts[i] = fmt.Sprintf("SELECT %d AS dir, %s FROM lineage_edges e "+
			"WHERE e.%s_model_id = (SELECT m.id FROM models m WHERE m.name = ?) AND e.%s_number = ? LIMIT ?",
			i, edgeColumns(far), near, near)
		args = append(args, start.Model, start.Version, limit)
	}
	return unionOfLimited(dialect, parts), args
}

// edgeColumns is what a level reads of an edge e: its ends, its relation,
// and the version columns of its far end.
func edgeColumns(far string) string {
	return "e.from_type, e.from_id, e.to_type, e.to_id, e.relation, e." + far + "_model_id AS far_model_id, e." + far + "_number AS far_number"
}

// unionOfLimited joins SELECTs that each end with a LIMIT in a UNION ALL.
// No ORDER BY: rows come in index order and the LIMIT stops the scan, even
// at a node with a million edges; the answer is sorted later. Each SELECT
// keeps its own LIMIT: in parentheses on MySQL, as a derived table on
// SQLite, whose compound SELECTs take no parentheses (on MariaDB a derived
// table costs a temporary table per execution, the parenthesised form
// none). The limits are bound, not written in, so that the texts repeat
// (hotDB prepares them).
func unionOfLimited(dialect string, parts []string) string {
	for i, p := range parts {
		if dialect == dialectSQLite {
			parts[i] = fmt.Sprintf("SELECT * FROM (%s) AS d%d", p, i)
		} else {
			parts[i] = "(" + p + ")"
		}
	}
	return strings.Join(parts, " UNION ALL ")
}

// nameModels fills in the model names of the far versions of rows: from
// memory, and for the models not met before from one query.
func (w *lineageWalk) nameModels(rows [][]lineageEdgeRow) error {
	unknown := map[int64]bool{}
	for _, dir := range rows {
		for _, r := range dir {
			if r.farModelID.Valid {
				if _, ok := w.models.Get(r.farModelID.Int64); !ok {
					unknown[r.farModelID.Int64] = true
				}
			}
		}
	}
	for batch := range slices.Chunk(slices.Collect(maps.Keys(unknown)), maxCandidateBatch[w.dialect]) {
		var found []modelRow
		if err := w.db.Select("id", "name").Where("id IN ?", batch).Find(&found).Error; err != nil {
			return dbErr("read lineage models", err)
		}
		for _, m := range found {
			w.models.Put(m.ID, m.Name)
		}
	}
	for _, dir := range rows {
		for i := range dir {
			r := &dir[i]
			if r.farModelID.Valid {
				if name, ok := w.models.Get(r.farModelID.Int64); ok {
					r.farModel = sql.NullString{String: name, Valid: true}
				}
			}
		}
	}
	return nil
}

// learnVersion records what the walk learnt of k, the far end of edge r,
// when k is a version not known yet: its model and number, or that it is
// hidden (gone, or out of the query's model scope).
func (w *lineageWalk) learnVersion(k nodeKey, r lineageEdgeRow) {
	if k.typ != modelkeep.NodeModelVersion || w.hidden[k] || hasRef(w.refs, k) {
		return
	}
	if r.farModel.Valid && r.farNumber.Valid && w.scope.CanAccessModel(r.farModel.String) {
		w.refs[k] = modelkeep.VersionNode(r.farModel.String, int(r.farNumber.Int64))
		return
	}
	w.hidden[k] = true
}

// label finds what the admitted datasets, runs and deployments are: one
// query per type, for the datasets and runs nodeLabels does not hold.
func (w *lineageWalk) label() error {
	ids := map[modelkeep.LineageNodeType][]string{}
	for _, k := range w.order {
		if _, ok := w.refs[k]; ok {
			continue
		}
		if ref, ok := w.known.Get(k); ok && (k.typ == modelkeep.NodeDataset || k.typ == modelkeep.NodeRun) {
			w.refs[k] = ref
			continue
		}
		ids[k.typ] = append(ids[k.typ], k.id)
	}
	if len(ids[modelkeep.NodeDataset]) > 0 {
		var rows []datasetRow
		if err := w.db.Select("id", "name", "version").Where("id IN ?", ids[modelkeep.NodeDataset]).Find(&rows).Error; err != nil {
			return dbErr("read lineage datasets", err)
		}
		for _, r := range rows {
			k := rowKey(modelkeep.NodeDataset, r.ID)
			w.refs[k] = modelkeep.DatasetNode(r.Name, r.Version)
			w.known.Put(k, w.refs[k])
		}
	}
	if len(ids[modelkeep.NodeRun]) > 0 {
		var rows []runRow
		if err := w.db.Select("id", "run_id").Where("id IN ?", ids[modelkeep.NodeRun]).Find(&rows).Error; err != nil {
			return dbErr("read lineage runs", err)
		}
		for _, r := range rows {
			k := rowKey(modelkeep.NodeRun, r.ID)
			w.refs[k] = modelkeep.RunNode(r.RunID)
			w.known.Put(k, w.refs[k])
		}
	}
	if len(ids[modelkeep.NodeDeployment]) > 0 {
		var views []deploymentView
		err := w.db.Table("deployments").
			Select("deployments.*, models.name AS model_name, versions.number AS version_number").
			Joins("JOIN models ON models.id = deployments.model_id").
			Joins("JOIN versions ON versions.id = deployments.version_id").
			Where("deployments.id IN ?", ids[modelkeep.NodeDeployment]).Find(&views).Error
		if err != nil {
			return dbErr("read lineage deployments", err)
		}
		for _, v := range views {
			d := toDeployment(v)
			k := nodeKey{typ: modelkeep.NodeDeployment, id: d.ID}
			w.refs[k] = modelkeep.DeploymentNode(d.ID)
			w.labels[k] = modelkeep.DeploymentLabel(d)
		}
	}
	return nil
}

// graph is the answer: the admitted nodes that exist, and the edges
// between them, sorted by id.
func (w *lineageWalk) graph(root nodeKey) modelkeep.LineageGraph {
	g := modelkeep.LineageGraph{
		Root: w.refs[root].ID(), Nodes: []modelkeep.LineageNode{}, Edges: []modelkeep.LineageEdge{}, Truncated: w.truncated,
	}
	nodes := map[nodeKey]modelkeep.LineageNode{}
	for _, k := range w.order {
		ref, ok := w.refs[k]
		if !ok {
			continue // its row is gone
		}
		n := ref.Node()
		if l, ok := w.labels[k]; ok {
			n.Label = l
		}
		nodes[k] = n
		g.Nodes = append(g.Nodes, n)
	}
	for _, e := range w.edgeOrder {
		from, okFrom := nodes[e.from]
		to, okTo := nodes[e.to]
		if okFrom && okTo {
			g.Edges = append(g.Edges, modelkeep.LineageEdge{From: from.ID, To: to.ID, Relation: e.relation})
		}
	}
	slices.SortFunc(g.Nodes, func(a, b modelkeep.LineageNode) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(g.Edges, func(a, b modelkeep.LineageEdge) int {
		return cmp.Or(cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To), cmp.Compare(a.Relation, b.Relation))
	})
	return g
}

func hasRef(refs map[nodeKey]modelkeep.LineageRef, k nodeKey) bool {
	_, ok := refs[k]
	return ok
}

// nodeLabels remembers what dataset and run rows are (name and version, run
// id), and modelNames what model rows are called, for the lineage walks:
// those rows are never renamed, and their ids never reused, so what was
// read once stays true.
type (
	nodeLabels     = boundedmap.Map[nodeKey, modelkeep.LineageRef]
	modelNamesByID = boundedmap.Map[int64, string]
)

// Bounds of the walks' memory (a few MiB each).
const (
	nodeLabelEntries = 32768
	modelNameEntries = 32768
)
