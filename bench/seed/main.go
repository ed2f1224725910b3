// Command seed fills an empty MySQL/MariaDB database with a large synthetic
// Modelkeep registry for the search benchmark (bench/search): models,
// versions (one model much bigger than the others), their tag and param side
// tables, metric points with latest_metrics kept consistent, datasets and
// lineage edges.
//
// It runs store.Open once to apply the migrations, then writes the rows
// directly with multi-row INSERT statements (bound parameters only), several
// thousand rows per transaction, with unique and foreign key checks off for
// its own sessions. It does not go through the API.
//
//	go run ./bench/seed -database 'mysql://user:pass@127.0.0.1:3306/db' [-scale 0.1]
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"log"
	"math"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/store"
)

// Names and values the benchmark relies on; bench/search uses the same.
const (
	BigModel    = "bench-big"
	modelPrefix = "bench-m"
	actor       = "bench-seed"
)

var (
	teams = []string{"team-0", "team-1", "team-2", "team-3", "team-4", "team-5", "team-6", "team-7"}
	tiers = []string{"bronze", "silver", "gold", "platinum", "diamond"}
	// metricKeys: the points of a version go round-robin over these keys,
	// each key's steps counting up, so the latest point of a key is its
	// highest step.
	metricKeys = []string{"auc", "loss", "f1"}
	stages     = []string{"none", "none", "none", "staging", "archived"}
)

type config struct {
	database    string
	models      int
	versions    int
	bigVersions int
	metrics     int
	edges       int
	datasets    int
	batch       int
	workers     int
	scale       float64
}

func main() {
	log.SetFlags(0)
	var c config
	flag.StringVar(&c.database, "database", os.Getenv("MODELKEEP_BENCH_MYSQL_DSN"), "mysql://user:pass@host:port/db of an empty database (default $MODELKEEP_BENCH_MYSQL_DSN)")
	flag.IntVar(&c.models, "models", 10_000, "number of models (the big one included)")
	flag.IntVar(&c.versions, "versions", 1_000_000, "number of versions in all")
	flag.IntVar(&c.bigVersions, "big-model-versions", 100_000, "versions of the big model, "+BigModel)
	flag.IntVar(&c.metrics, "metrics", 10_000_000, "metric points in all")
	flag.IntVar(&c.edges, "edges", 1_000_000, "lineage edges in all (4/5 version→version parents, the rest dataset→version)")
	flag.IntVar(&c.datasets, "datasets", 1_000, "datasets (upstream ends of dataset edges)")
	flag.Float64Var(&c.scale, "scale", 1, "multiply -models, -versions, -big-model-versions, -metrics, -edges and -datasets by this")
	flag.IntVar(&c.batch, "batch", 5_000, "rows per INSERT statement and transaction")
	flag.IntVar(&c.workers, "workers", 3, "concurrent connections inserting")
	flag.Parse()
	if err := run(context.Background(), c); err != nil {
		log.Fatalf("seed: %v", err)
	}
}

func scaled(n int, f float64) int {
	return max(1, int(math.Round(float64(n)*f)))
}

func run(ctx context.Context, c config) error {
	if c.database == "" {
		return errors.New("no database: pass -database or set MODELKEEP_BENCH_MYSQL_DSN")
	}
	if c.scale <= 0 || c.batch < 1 || c.workers < 1 {
		return errors.New("-scale, -batch and -workers must be positive")
	}
	c.models = scaled(c.models, c.scale)
	c.versions = scaled(c.versions, c.scale)
	c.bigVersions = scaled(c.bigVersions, c.scale)
	c.metrics = scaled(c.metrics, c.scale)
	c.edges = scaled(c.edges, c.scale)
	c.datasets = scaled(c.datasets, c.scale)
	if c.bigVersions > c.versions || c.versions-c.bigVersions < c.models-1 {
		return fmt.Errorf("%d versions cannot give %d to the big model and at least one to each of %d others", c.versions, c.bigVersions, c.models-1)
	}

	start := time.Now()
	st, err := store.Open(ctx, store.Options{URL: c.database})
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if err := st.Close(); err != nil {
		return err
	}
	log.Printf("migrated in %s", time.Since(start).Round(time.Millisecond))

	cfg, err := mysqlConfig(c.database)
	if err != nil {
		return err
	}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return err
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	db.SetMaxOpenConns(c.workers)
	db.SetMaxIdleConns(c.workers)

	var n int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM models").Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("the database already has %d models: seed an empty one", n)
	}

	s := &seeder{c: c, db: db, now: time.Now().UTC().Truncate(time.Second)}
	s.plan()
	log.Printf("seeding %d models, %d versions (%d in %s), %d metric points, %d lineage edges, %d datasets; %d workers, %d rows per batch",
		c.models, c.versions, c.bigVersions, BigModel, c.metrics, c.edges, c.datasets, c.workers, c.batch)

	steps := []struct {
		name string
		fn   func(ctx context.Context) error
	}{
		{"models", s.seedModels},
		{"datasets", s.seedDatasets},
		{"versions, version_tags, version_params", s.seedVersions},
		{"metrics, latest_metrics", s.seedMetrics},
		{"lineage_edges", s.seedEdges},
	}
	for _, step := range steps {
		t0 := time.Now()
		before := s.rows.Load()
		if err := step.fn(ctx); err != nil {
			return fmt.Errorf("%s: %w", step.name, err)
		}
		rows, d := s.rows.Load()-before, time.Since(t0)
		log.Printf("%-40s %10d rows in %8s  (%.0f rows/s)", step.name, rows, d.Round(time.Millisecond), float64(rows)/d.Seconds())
	}
	t0 := time.Now()
	if _, err := db.ExecContext(ctx, "ANALYZE TABLE models, versions, version_tags, version_params, metrics, latest_metrics, lineage_edges, datasets"); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	log.Printf("analyzed in %s", time.Since(t0).Round(time.Millisecond))
	d := time.Since(start)
	log.Printf("done: %d rows in %s (%.0f rows/s overall)", s.rows.Load(), d.Round(time.Millisecond), float64(s.rows.Load())/d.Seconds())
	return nil
}

// mysqlConfig turns mysql://user:pass@host:port/db into a driver config.
func mysqlConfig(raw string) (*mysql.Config, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "mysql" || u.Host == "" || strings.Trim(u.Path, "/") == "" {
		return nil, errors.New("-database: want mysql://user:pass@host:port/db")
	}
	cfg := mysql.NewConfig()
	cfg.Net = "tcp"
	cfg.Addr = u.Host
	if u.Port() == "" {
		cfg.Addr = u.Host + ":3306"
	}
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	cfg.DBName = strings.Trim(u.Path, "/")
	cfg.ParseTime = true
	// Client-side interpolation: one round trip per batch instead of a
	// prepare, execute and close. The driver escapes every value.
	cfg.InterpolateParams = true
	cfg.Params = map[string]string{"unique_checks": "0", "foreign_key_checks": "0"}
	return cfg, nil
}

type seeder struct {
	c    config
	db   *sql.DB
	now  time.Time
	rows atomic.Int64

	// counts[m] is the number of versions of model m+1 (model 1 is the big
	// one); firstID[m] is the row id of its version 1. Version ids are
	// assigned here, in model order, so that versions of one model are
	// contiguous.
	counts  []int
	firstID []int64
}

func (s *seeder) plan() {
	c := s.c
	s.counts = make([]int, c.models)
	s.firstID = make([]int64, c.models)
	s.counts[0] = c.bigVersions
	if c.models > 1 {
		rest, others := c.versions-c.bigVersions, c.models-1
		for m := 1; m < c.models; m++ {
			s.counts[m] = rest / others
			if m-1 < rest%others {
				s.counts[m]++
			}
		}
	}
	id := int64(1)
	for m := range s.counts {
		s.firstID[m] = id
		id += int64(s.counts[m])
	}
}

func modelName(m int) string {
	if m == 0 {
		return BigModel
	}
	return fmt.Sprintf("%s%05d", modelPrefix, m)
}

// mix is a fixed 64-bit hash (splitmix64) for reproducible pseudo-random
// values from row ids.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// unit is a value in [0, 1) from a and b.
func unit(a, b uint64) float64 {
	return float64(mix(a*1_000_003+b)>>11) / (1 << 53)
}

// Team and tier of a version: independent, uniform.
func teamOf(id int64) string { return teams[mix(uint64(id))%uint64(len(teams))] }
func tierOf(id int64) string {
	return tiers[mix(uint64(id)^0x5555)%uint64(len(tiers))]
}

// batcher collects rows of one table and hands full INSERT statements to the
// workers.
type batcher struct {
	s       *seeder
	prefix  string // INSERT INTO t (cols) VALUES
	cols    int
	args    []any
	n       int
	jobs    chan<- job
	maxRows int
}

type job struct {
	query string
	args  []any
	rows  int
}

func (b *batcher) add(vals ...any) {
	b.args = append(b.args, vals...)
	b.n++
	if b.n >= b.maxRows {
		b.flush()
	}
}

func (b *batcher) flush() {
	if b.n == 0 {
		return
	}
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", b.cols), ",") + ")"
	q := b.prefix + strings.TrimSuffix(strings.Repeat(one+",", b.n), ",")
	b.jobs <- job{query: q, args: b.args, rows: b.n}
	b.args = make([]any, 0, b.cols*b.maxRows)
	b.n = 0
}

// pool runs produce, which feeds batchers made by newBatcher, with
// s.c.workers connections executing the statements, each in its own
// transaction.
func (s *seeder) pool(ctx context.Context, produce func(newBatcher func(table string, cols ...string) *batcher) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan job, s.c.workers*2)
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	fail := func(err error) {
		once.Do(func() { firstErr = err; cancel() })
	}
	for range s.c.workers {
		wg.Go(func() {
			for j := range jobs {
				if ctx.Err() != nil {
					continue
				}
				if err := s.exec(ctx, j); err != nil {
					fail(err)
					continue
				}
				s.rows.Add(int64(j.rows))
			}
		})
	}
	var batchers []*batcher
	newBatcher := func(table string, cols ...string) *batcher {
		b := &batcher{s: s, prefix: "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ",
			cols: len(cols), jobs: jobs, maxRows: min(s.c.batch, 60_000/len(cols))}
		batchers = append(batchers, b)
		return b
	}
	err := produce(newBatcher)
	if err == nil {
		for _, b := range batchers {
			b.flush()
		}
	}
	close(jobs)
	wg.Wait()
	if err != nil {
		return err
	}
	return firstErr
}

func (s *seeder) exec(ctx context.Context, j job) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, j.query, j.args...); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

func (s *seeder) seedModels(ctx context.Context) error {
	return s.pool(ctx, func(nb func(string, ...string) *batcher) error {
		b := nb("models", "id", "name", "description", "tags", "created_by", "created_at", "updated_at", "latest_version")
		for m := range s.c.models {
			// latest_version: the counter CreateVersion bumps, equal to the
			// highest number seeded.
			b.add(m+1, modelName(m), "", "{}", actor, s.now, s.now, s.counts[m])
		}
		return nil
	})
}

func (s *seeder) seedDatasets(ctx context.Context) error {
	return s.pool(ctx, func(nb func(string, ...string) *batcher) error {
		b := nb("datasets", "id", "name", "version", "uri", "sha256", "size", "license", "description", "created_by", "created_at", "updated_at")
		for d := range s.c.datasets {
			b.add(d+1, fmt.Sprintf("bench-ds%05d", d), "v1", "", "", 0, "", "", actor, s.now, s.now)
		}
		return nil
	})
}

// createdAt spreads versions of a model over the past, one second apart,
// newest last.
func (s *seeder) createdAt(count, number int) time.Time {
	return s.now.Add(-time.Duration(count-number+1) * time.Second)
}

func (s *seeder) seedVersions(ctx context.Context) error {
	digest := modelkeep.ManifestDigest(nil)
	return s.pool(ctx, func(nb func(string, ...string) *batcher) error {
		vb := nb("versions", "id", "model_id", "number", "description", "tags", "params", "source_run_id", "source_git_commit",
			"source_code_uri", "datasets", "parent_model", "parent_version", "status", "stage", "manifest_digest", "ever_production",
			"created_by", "created_at", "updated_at", "finalized_at")
		tb := nb("version_tags", "version_id", "model_id", "version_number", "tag_key", "tag_value")
		pb := nb("version_params", "version_id", "model_id", "version_number", "param_key", "param_value")
		for m, count := range s.counts {
			name := modelName(m)
			for number := 1; number <= count; number++ {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				id := s.firstID[m] + int64(number-1)
				team, tier := teamOf(id), tierOf(id)
				lr := fmt.Sprintf("0.%03d", 1+mix(uint64(id)^0xaaaa)%100)
				batch := fmt.Sprint(16 << (mix(uint64(id)^0x3333) % 5))
				tags := fmt.Sprintf(`{"team":%q,"tier":%q}`, team, tier)
				params := fmt.Sprintf(`{"batch_size":%q,"lr":%q}`, batch, lr)
				var parentModel, parentVersion any
				if s.hasParent(id) {
					parentModel, parentVersion = name, number-1
				}
				t := s.createdAt(count, number)
				stage := stages[mix(uint64(id)^0x7777)%uint64(len(stages))]
				vb.add(id, m+1, number, "", tags, params, "", "", "", "[]", parentModel, parentVersion,
					"ready", stage, digest, false, actor, t, t, t)
				tb.add(id, m+1, number, "team", team)
				tb.add(id, m+1, number, "tier", tier)
				pb.add(id, m+1, number, "batch_size", batch)
				pb.add(id, m+1, number, "lr", lr)
			}
		}
		return nil
	})
}

// parentEdges is how many version→version edges there are: 4/5 of the edges,
// at most one per version that has a predecessor. The first versions by id
// (the big model's first) get them.
func (s *seeder) parentEdges() int {
	return min(s.c.edges*4/5, s.c.versions-s.c.models)
}

// hasParent: version id is derived from the previous version of its model.
// Parent edges go to the first parentEdges() versions (by id) whose number is
// above 1.
func (s *seeder) hasParent(id int64) bool {
	m := s.modelOf(id)
	number := int(id - s.firstID[m] + 1)
	if number == 1 {
		return false
	}
	// versions with number > 1 before id: the id-1 before it less the first
	// versions of models 0..m, all of them before id.
	before := int(id) - 2 - m
	return before < s.parentEdges()
}

func (s *seeder) modelOf(id int64) int {
	lo, hi := 0, len(s.firstID)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if s.firstID[mid] <= id {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}

func (s *seeder) seedMetrics(ctx context.Context) error {
	return s.pool(ctx, func(nb func(string, ...string) *batcher) error {
		mb := nb("metrics", "version_id", "metric_key", "value", "step", "dataset", "split", "environment", "ts", "recorded_by")
		lb := nb("latest_metrics", "version_id", "model_id", "version_number", "metric_key", "value", "step", "ts")
		per, extra := s.c.metrics/s.c.versions, s.c.metrics%s.c.versions
		type last struct {
			value float64
			step  int
			ts    time.Time
			ok    bool
		}
		latest := make([]last, len(metricKeys))
		for m, count := range s.counts {
			for number := 1; number <= count; number++ {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				id := s.firstID[m] + int64(number-1)
				n := per
				if id <= int64(extra) {
					n++
				}
				clear(latest)
				t := s.createdAt(count, number)
				for j := range n {
					k := j % len(metricKeys)
					step := j / len(metricKeys)
					u := unit(uint64(id), uint64(j))
					var v float64
					switch metricKeys[k] {
					case "auc":
						v = 0.5 + 0.5*u // uniform in [0.5, 1): auc >= 0.9 holds for 1/5
					case "loss":
						v = 2 * u / float64(step+1)
					default:
						v = u
					}
					ts := t.Add(time.Duration(j) * time.Millisecond)
					mb.add(id, metricKeys[k], v, step, "eval", "test", "", ts, actor)
					latest[k] = last{value: v, step: step, ts: ts, ok: true}
				}
				for k, l := range latest {
					if l.ok {
						lb.add(id, m+1, number, metricKeys[k], l.value, l.step, l.ts)
					}
				}
			}
		}
		return nil
	})
}

func (s *seeder) seedEdges(ctx context.Context) error {
	return s.pool(ctx, func(nb func(string, ...string) *batcher) error {
		eb := nb("lineage_edges", "from_type", "from_id", "to_type", "to_id", "relation", "created_at",
			"from_model_id", "from_number", "to_model_id", "to_number")
		parents := s.parentEdges()
		done := 0
		for m, count := range s.counts {
			for number := 2; number <= count && done < parents; number++ {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				id := s.firstID[m] + int64(number-1)
				eb.add(string(modelkeep.NodeModelVersion), fmt.Sprint(id-1), string(modelkeep.NodeModelVersion), fmt.Sprint(id),
					modelkeep.RelationDerivedFrom, s.now, m+1, number-1, m+1, number)
				done++
			}
		}
		// dataset→version edges: versions in id order, round-robin over the
		// datasets, wrapping over the versions (with the next dataset) when
		// there are more edges than versions.
		for e := range s.c.edges - done {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			id := int64(e%s.c.versions) + 1
			ds := (e + e/s.c.versions) % s.c.datasets
			m := s.modelOf(id)
			eb.add(string(modelkeep.NodeDataset), fmt.Sprint(ds+1), string(modelkeep.NodeModelVersion), fmt.Sprint(id), "training", s.now,
				nil, nil, m+1, int(id-s.firstID[m]+1))
		}
		return nil
	})
}
