package store

import (
	"database/sql"
	"errors"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/internal/boundedmap"
)

// lineageFixture builds
//
//	tx@1 ──training──> run r1 ──produced──> fraud/1 ──fine_tuned_from──> fraud-ft/1 ──deployed_to──> dep-1
//	tx@1 ──training──────────────────────> fraud/1                        fraud-ft/1 ──distilled_from──> churn/1
//	eval@1 ─evaluation───────────────────> fraud/1 ──derived_from──> gone/1 (model deleted, edge left dangling)
func lineageFixture(t *testing.T, s *Store) {
	t.Helper()
	ctx := t.Context()
	for _, d := range []string{"tx", "eval"} {
		if err := s.CreateDataset(ctx, modelkeep.Dataset{Name: d, Version: "1"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateRun(ctx, modelkeep.Run{ID: "r1"}); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"fraud", "fraud-ft", "churn", "gone"} {
		mustCreateModel(t, s, m, nil)
		mustCreateVersion(t, s, m)
	}
	err := s.CreateDeployment(ctx, modelkeep.Deployment{ID: "dep-1", Model: "fraud-ft", Version: 1,
		Environment: "prod-eu", Strategy: "canary", TrafficPercent: 10, DeployedBy: "deployer"})
	if err != nil {
		t.Fatal(err)
	}
	tx, eval, run := modelkeep.DatasetNode("tx", "1"), modelkeep.DatasetNode("eval", "1"), modelkeep.RunNode("r1")
	fraud, ft := modelkeep.VersionNode("fraud", 1), modelkeep.VersionNode("fraud-ft", 1)
	links := []modelkeep.LineageLink{
		{From: tx, To: run, Relation: "training"},
		{From: tx, To: fraud, Relation: "training"},
		{From: eval, To: fraud, Relation: "evaluation"},
		{From: run, To: fraud, Relation: modelkeep.RelationProduced},
		{From: fraud, To: ft, Relation: modelkeep.RelationFineTunedFrom},
		{From: ft, To: modelkeep.DeploymentNode("dep-1"), Relation: modelkeep.RelationDeployedTo},
		{From: ft, To: modelkeep.VersionNode("churn", 1), Relation: modelkeep.RelationDistilledFrom},
		{From: fraud, To: modelkeep.VersionNode("gone", 1), Relation: modelkeep.RelationDerivedFrom},
	}
	if err := s.AddLineage(ctx, links); err != nil {
		t.Fatal(err)
	}
	// Recording a link again changes nothing.
	if err := s.AddLineage(ctx, links[:2]); err != nil {
		t.Fatalf("add links again: %v", err)
	}
	gone, err := s.versionRowOf(ctx, "gone", 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteModel(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	// DeleteModel took the edge to gone/1 with it; databases written before
	// it did keep such edges, and reads must still skip them: one dangling
	// edge, as such a database has.
	var left int64
	if err := s.db.Model(&lineageEdgeRow{}).Where("to_id = ?", strconv.FormatInt(gone.ID, 10)).Count(&left).Error; err != nil || left != 0 {
		t.Fatalf("%d edges to the deleted model's version left (%v)", left, err)
	}
	fraud1, err := s.versionRowOf(ctx, "fraud", 1)
	if err != nil {
		t.Fatal(err)
	}
	dangling := lineageEdgeRow{FromType: string(modelkeep.NodeModelVersion), FromID: strconv.FormatInt(fraud1.ID, 10),
		ToType: string(modelkeep.NodeModelVersion), ToID: strconv.FormatInt(gone.ID, 10), Relation: modelkeep.RelationDerivedFrom, CreatedAt: time.Now(),
		FromModelID: sql.NullInt64{Int64: fraud1.ModelID, Valid: true}, FromNumber: sql.NullInt64{Int64: int64(fraud1.Number), Valid: true}}
	if err := s.db.Create(&dangling).Error; err != nil {
		t.Fatal(err)
	}
}

func TestLineage(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		ctx := t.Context()
		lineageFixture(t, s)

		const (
			tx    = "dataset:tx@1"
			eval  = "dataset:eval@1"
			run   = "run:r1"
			fraud = "model_version:fraud/1"
			ft    = "model_version:fraud-ft/1"
			churn = "model_version:churn/1"
			dep   = "deployment:dep-1"
		)
		q := func(model string, up, down bool, depth int) modelkeep.LineageQuery {
			return modelkeep.LineageQuery{Start: modelkeep.VersionRef{Model: model, Version: 1}, Upstream: up, Downstream: down,
				Depth: depth, MaxNodes: 100, MaxEdges: 100}
		}
		tests := []struct {
			name          string
			q             modelkeep.LineageQuery
			wantNodes     []string
			wantEdges     []string
			wantTruncated bool
		}{
			{
				name:      "upstream across models to the data",
				q:         q("fraud-ft", true, false, 3),
				wantNodes: []string{eval, tx, fraud, ft, run},
				wantEdges: []string{
					eval + " evaluation " + fraud, tx + " training " + fraud, tx + " training " + run,
					fraud + " fine_tuned_from " + ft, run + " produced " + fraud,
				},
			},
			{
				name:      "depth bounds the walk",
				q:         q("fraud-ft", true, false, 1),
				wantNodes: []string{fraud, ft},
				wantEdges: []string{fraud + " fine_tuned_from " + ft},
			},
			{
				name:      "downstream to deployments; a deleted model's version is not shown",
				q:         q("fraud", false, true, 3),
				wantNodes: []string{dep, churn, fraud, ft},
				wantEdges: []string{fraud + " fine_tuned_from " + ft, ft + " deployed_to " + dep, ft + " distilled_from " + churn},
			},
			{
				name:      "both ways",
				q:         q("fraud", true, true, 1),
				wantNodes: []string{eval, tx, fraud, ft, run},
				wantEdges: []string{
					eval + " evaluation " + fraud, tx + " training " + fraud, fraud + " fine_tuned_from " + ft, run + " produced " + fraud,
				},
			},
			{
				name: "a model scope hides other models and what lies beyond them",
				q: func() modelkeep.LineageQuery {
					q := q("fraud", true, true, 3)
					q.Models = []string{"fraud"}
					return q
				}(),
				wantNodes: []string{eval, tx, fraud, run},
				wantEdges: []string{eval + " evaluation " + fraud, tx + " training " + fraud, tx + " training " + run, run + " produced " + fraud},
			},
			{
				name: "node cap",
				q: func() modelkeep.LineageQuery {
					q := q("fraud", false, true, 3)
					q.MaxNodes = 2
					return q
				}(),
				wantNodes:     []string{fraud, ft},
				wantEdges:     []string{fraud + " fine_tuned_from " + ft},
				wantTruncated: true,
			},
			{
				name: "edge cap",
				q: func() modelkeep.LineageQuery {
					q := q("fraud-ft", false, true, 3)
					q.MaxEdges = 1
					return q
				}(),
				wantNodes:     nil, // one of the two edges, checked by count below
				wantTruncated: true,
			},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				g, err := s.Lineage(ctx, tt.q)
				if err != nil {
					t.Fatal(err)
				}
				if g.Root != modelkeep.VersionNode(tt.q.Start.Model, 1).ID() || g.Truncated != tt.wantTruncated {
					t.Errorf("root %q truncated %v", g.Root, g.Truncated)
				}
				if tt.wantNodes == nil {
					if len(g.Edges) != 1 || len(g.Nodes) != 2 {
						t.Errorf("got %d nodes, %d edges; want 2 and 1", len(g.Nodes), len(g.Edges))
					}
					return
				}
				var nodes, edges []string
				for _, n := range g.Nodes {
					nodes = append(nodes, n.ID)
				}
				for _, e := range g.Edges {
					edges = append(edges, e.From+" "+e.Relation+" "+e.To)
				}
				if !slices.IsSorted(nodes) {
					t.Errorf("nodes not sorted by id: %v", nodes)
				}
				slices.Sort(edges)
				slices.Sort(tt.wantNodes)
				slices.Sort(tt.wantEdges)
				if !reflect.DeepEqual(nodes, tt.wantNodes) {
					t.Errorf("nodes %v\nwant  %v", nodes, tt.wantNodes)
				}
				if !reflect.DeepEqual(edges, tt.wantEdges) {
					t.Errorf("edges %v\nwant  %v", edges, tt.wantEdges)
				}
			})
		}

		t.Run("labels", func(t *testing.T) {
			g, err := s.Lineage(ctx, q("fraud", true, true, 3))
			if err != nil {
				t.Fatal(err)
			}
			// The datasets and runs met before are named from memory: the
			// same answer as a walk that reads them all.
			warm := s.nodeLabels
			s.nodeLabels = boundedmap.New[nodeKey, modelkeep.LineageRef](nodeLabelEntries)
			s.modelNames = boundedmap.New[int64, string](modelNameEntries)
			cold, err := s.Lineage(ctx, q("fraud", true, true, 3))
			if err != nil || !reflect.DeepEqual(cold, g) {
				t.Fatalf("walk with no labels known:\n%+v (%v)\nwith labels known:\n%+v", cold, err, g)
			}
			// The walk did take the names from memory: a name planted
			// there shows.
			txRow, err := s.datasetRowOf(ctx, "tx", "1")
			if err != nil {
				t.Fatal(err)
			}
			s.nodeLabels.Put(rowKey(modelkeep.NodeDataset, txRow.ID), modelkeep.DatasetNode("planted", "9"))
			planted, err := s.Lineage(ctx, q("fraud", true, true, 3))
			s.nodeLabels = warm
			if err != nil || !slices.ContainsFunc(planted.Nodes, func(n modelkeep.LineageNode) bool { return n.Label == "planted@9" }) {
				t.Fatalf("walk after planting a dataset's name: %+v (%v)", planted.Nodes, err)
			}
			want := map[string]modelkeep.LineageNode{
				tx:    {ID: tx, Type: modelkeep.NodeDataset, Label: "tx@1"},
				run:   {ID: run, Type: modelkeep.NodeRun, Label: "run r1"},
				fraud: {ID: fraud, Type: modelkeep.NodeModelVersion, Label: "fraud v1"},
				dep:   {ID: dep, Type: modelkeep.NodeDeployment, Label: "fraud-ft v1 in prod-eu (canary 10%)"},
			}
			for _, n := range g.Nodes {
				if w, ok := want[n.ID]; ok && n != w {
					t.Errorf("node %+v, want %+v", n, w)
				}
			}
		})
		t.Run("missing start", func(t *testing.T) {
			_, err := s.Lineage(ctx, q("gone", true, true, 3))
			wantErrIs(t, err, modelkeep.ErrNotFound)
			missing := q("fraud", true, true, 3)
			missing.Start.Version = 9
			_, err = s.Lineage(ctx, missing)
			wantErrIs(t, err, modelkeep.ErrNotFound)
			if want := `version 9 of model "fraud" not found`; err == nil || err.Error() != want {
				t.Errorf("error %v, want %s", err, want)
			}
		})
		// The first level is read by the start's name: a version without
		// edges is found on its own, and a model created again under a
		// deleted one's name is walked from its own version.
		t.Run("start without edges", func(t *testing.T) {
			mustCreateModel(t, s, "alone", nil)
			mustCreateVersion(t, s, "alone")
			for _, dir := range []struct{ up, down bool }{{true, true}, {true, false}, {false, true}} {
				g, err := s.Lineage(ctx, q("alone", dir.up, dir.down, 3))
				if err != nil || g.Root != "model_version:alone/1" || len(g.Nodes) != 1 || len(g.Edges) != 0 {
					t.Fatalf("%+v: %+v, %v", dir, g, err)
				}
			}
			if err := s.DeleteModel(ctx, "alone"); err != nil {
				t.Fatal(err)
			}
			mustCreateModel(t, s, "alone", nil)
			mustCreateVersion(t, s, "alone")
			if err := s.AddLineage(ctx, []modelkeep.LineageLink{{From: modelkeep.DatasetNode("tx", "1"), To: modelkeep.VersionNode("alone", 1), Relation: "training"}}); err != nil {
				t.Fatal(err)
			}
			g, err := s.Lineage(ctx, q("alone", true, true, 3))
			if err != nil || len(g.Nodes) != 2 || len(g.Edges) != 1 || g.Edges[0] != (modelkeep.LineageEdge{From: tx, To: "model_version:alone/1", Relation: "training"}) {
				t.Fatalf("recreated model: %+v, %v", g, err)
			}
			if err := s.DeleteModel(ctx, "alone"); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("link to a missing node", func(t *testing.T) {
			for _, ref := range []modelkeep.LineageRef{
				modelkeep.DatasetNode("tx", "2"), modelkeep.RunNode("r2"), modelkeep.VersionNode("fraud", 9), modelkeep.DeploymentNode("dep-9"),
			} {
				err := s.AddLineage(ctx, []modelkeep.LineageLink{{From: ref, To: modelkeep.VersionNode("fraud", 1), Relation: "x"}})
				wantErrIs(t, err, modelkeep.ErrNotFound)
			}
		})
		t.Run("edges are stored once", func(t *testing.T) {
			var n int64
			if err := s.db.Model(&lineageEdgeRow{}).Count(&n).Error; err != nil {
				t.Fatal(err)
			}
			if n != 8 {
				t.Errorf("%d edge rows, want 8", n)
			}
		})
	})
}

// The version ends of an edge (0047) are written by AddLineage and rebuilt
// by the backfill (0048) alike: a version's model id and number, NULL for
// the other node types (a deployment's id is not a number: the backfill
// must not cast it) and for a version that is gone.
func TestLineageVersionEnds(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		ctx := t.Context()
		lineageFixture(t, s)
		db := s.db.WithContext(ctx)
		read := func() []lineageEdgeRow {
			t.Helper()
			var rows []lineageEdgeRow
			if err := db.Order("id").Find(&rows).Error; err != nil {
				t.Fatal(err)
			}
			for i := range rows {
				rows[i].CreatedAt = rows[i].CreatedAt.UTC()
			}
			return rows
		}
		written := read()
		versionEnds, deployments := 0, 0
		for _, r := range written {
			for _, end := range []struct {
				typ, id         string
				modelID, number sql.NullInt64
			}{{r.FromType, r.FromID, r.FromModelID, r.FromNumber}, {r.ToType, r.ToID, r.ToModelID, r.ToNumber}} {
				if end.typ == string(modelkeep.NodeDeployment) {
					deployments++
				}
				if end.typ != string(modelkeep.NodeModelVersion) {
					if end.modelID.Valid || end.number.Valid {
						t.Errorf("edge %d: %s end %s has a version end", r.ID, end.typ, end.id)
					}
					continue
				}
				var v versionRow
				err := db.Where("id = ?", end.id).Take(&v).Error
				if errors.Is(err, gorm.ErrRecordNotFound) {
					if end.modelID.Valid || end.number.Valid {
						t.Errorf("edge %d: gone version %s has a version end", r.ID, end.id)
					}
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				versionEnds++
				if end.modelID != (sql.NullInt64{Int64: v.ModelID, Valid: true}) || end.number != (sql.NullInt64{Int64: int64(v.Number), Valid: true}) {
					t.Errorf("edge %d: version %s recorded as model %v number %v, is %d/%d", r.ID, end.id, end.modelID, end.number, v.ModelID, v.Number)
				}
			}
		}
		if versionEnds < 5 || deployments == 0 {
			t.Fatalf("fixture too small: %d version ends, %d deployment ends", versionEnds, deployments)
		}

		if err := db.Exec("UPDATE lineage_edges SET from_model_id = NULL, from_number = NULL, to_model_id = NULL, to_number = NULL").Error; err != nil {
			t.Fatal(err)
		}
		runMigrations(t, s, 48)
		if got := read(); !reflect.DeepEqual(got, written) {
			t.Fatalf("after the backfill:\n%+v\nwritten:\n%+v", got, written)
		}
	})
}

// Each level of a walk is read from the edge indexes alone (0049), the far
// end's version included: no table look-up, no join.
func TestLineageLevelPlan(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		ctx := t.Context()
		lineageFixture(t, s)
		analyze := "ANALYZE"
		if s.dialect == dialectMySQL {
			analyze = "ANALYZE TABLE lineage_edges"
		}
		if err := s.db.WithContext(ctx).Exec(analyze).Error; err != nil {
			t.Fatal(err)
		}
		fraud, err := s.versionRowOf(ctx, "fraud", 1)
		if err != nil {
			t.Fatal(err)
		}
		v := rowKey(modelkeep.NodeModelVersion, fraud.ID)
		run := rowKey(modelkeep.NodeRun, 1)
		dirs := []*walkDirection{
			{frontier: []nodeKey{v, run}},
			{downstream: true, frontier: []nodeKey{v}},
		}
		query, args := levelQuery(s.dialect, dirs, 101)
		checkLevelPlan(t, s, "a level", explainPlan(t, s, query, args...), "ix_lineage_edges_to ", "ix_lineage_edges_from ")
		query, args = startQuery(s.dialect, dirs, modelkeep.VersionRef{Model: "fraud", Version: 1}, 101)
		checkLevelPlan(t, s, "the first level", explainPlan(t, s, query, args...), "ix_lineage_edges_to_version", "ix_lineage_edges_from_version")
	})
}

// checkLevelPlan fails unless plan reads each of the indexes and every read
// of lineage_edges is from an index alone, with no versions table.
func checkLevelPlan(t *testing.T, s *Store, what string, plan []string, indexes ...string) {
	t.Helper()
	all := strings.Join(plan, "\n") + "\n"
	for _, index := range indexes {
		if !strings.Contains(strings.ReplaceAll(all, "\n", " "), index) {
			t.Errorf("%s does not read %s:\n%s", what, index, all)
		}
	}
	for _, line := range plan {
		switch {
		case s.dialect == dialectSQLite && strings.Contains(line, " e ") && !strings.Contains(line, "COVERING INDEX"),
			s.dialect == dialectMySQL && strings.Contains(line, "table=e") && !strings.Contains(line, "Using index"),
			strings.Contains(line, "versions"):
			t.Errorf("%s: not from an index alone: %s", what, line)
		}
	}
	t.Logf("%s:\n%s", what, all)
}

func TestSingleNodes(t *testing.T) {
	v := func(id string) nodeKey { return nodeKey{typ: modelkeep.NodeModelVersion, id: id} }
	d := func(id string) nodeKey { return nodeKey{typ: modelkeep.NodeDataset, id: id} }
	for _, tc := range []struct {
		name string
		dirs []*walkDirection
		want bool
	}{
		{"a version each way", []*walkDirection{{frontier: []nodeKey{v("1")}}, {downstream: true, frontier: []nodeKey{v("1")}}}, true},
		{"a version and its dataset", []*walkDirection{{frontier: []nodeKey{v("1"), d("2")}}}, true},
		{"two versions", []*walkDirection{{frontier: []nodeKey{v("1")}}, {downstream: true, frontier: []nodeKey{v("2"), v("3")}}}, false},
	} {
		if got := singleNodes(tc.dirs); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
