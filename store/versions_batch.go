package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/internal/groupcommit"
	"github.com/modelkeep/modelkeep/internal/turn"
)

// versionBatcher lets creates of versions that arrive together share one
// transaction (group commit, internal/groupcommit). Creates on one model
// pass one at a time through the section from taking the number to the
// commit, as the model row stays locked to the commit (CreateVersion says
// why); alone, each pays that section's five round trips and a log flush.
// Together, n creates take their numbers, insert their rows, tags, params
// and audit events in a handful of multi-row statements and one commit,
// whatever n and however many models they name; what each create's then
// does (its lineage: runs, datasets) still costs statements of its own.
type versionBatcher = groupcommit.Batcher[versionCreate, int]

// maxVersionBatch bounds the creates of one shared transaction.
const maxVersionBatch = 64

// versionBatchTimeout bounds a shared transaction: it runs under no one
// caller's context, as a caller that went away must not fail the others.
const versionBatchTimeout = 30 * time.Second

// errCreateAlone tells a caller whose shared transaction failed before its
// commit to create its version in a transaction of its own: the failure
// may have been another create's (a missing model, a parent that does not
// exist, a deadlock), and each caller must get its own outcome.
var errCreateAlone = errors.New("create the version in a transaction of its own")

// CreateVersionThen is CreateVersion followed by then in the same
// transaction: both commit or neither does. Outside a transaction,
// concurrent calls share one (versionBatcher); when a shared one fails
// before its commit, each of its creates is run again alone, so then may
// run twice, and must write only through tx. Numbers stay gapless: a shared
// transaction that rolls back takes its numbers back with it.
func (s *Store) CreateVersionThen(ctx context.Context, v modelkeep.Version,
	then func(ctx context.Context, tx modelkeep.MetaStore, number int) error) (int, error) {
	c, err := s.newVersionCreate(v)
	if err != nil {
		return 0, err
	}
	c.then = then
	if s.inTx {
		return s.insertVersionThen(ctx, c)
	}
	// A create on a model not known here is answered before it can join a
	// batch (and fail it for the others); on MySQL the batch then finds the
	// id in memory. A model deleted since its id was remembered fails one
	// batch, and its id is forgotten (takeVersionNumber).
	if _, err := s.rememberedModelID(ctx, c.model); err != nil {
		return 0, err
	}
	number, err := s.versionBatch.Do(ctx, c, s.createVersions)
	if errors.Is(err, errCreateAlone) {
		s.versionReruns.Add(1)
		return s.createVersionAlone(ctx, c)
	}
	return number, err
}

// VersionCreateStats is what the creates of versions through
// CreateVersionThen did so far (for /metrics).
type VersionCreateStats struct {
	// Batches is the transactions creates ran in (a lone create's
	// included) and Creates the creates they held: Creates/Batches is
	// the mean batch size.
	Batches, Creates uint64
	// Reruns is the creates run again alone after their shared
	// transaction failed.
	Reruns uint64
}

// VersionCreateStats reports the group commit's counts.
func (s *Store) VersionCreateStats() VersionCreateStats {
	batches, creates := s.versionBatch.Stats()
	return VersionCreateStats{Batches: batches, Creates: creates, Reruns: s.versionReruns.Load()}
}

// insertVersionThen stores c and runs its then, in the caller's
// transaction.
func (s *Store) insertVersionThen(ctx context.Context, c versionCreate) (int, error) {
	number, err := s.insertVersion(ctx, c)
	if err != nil {
		return 0, err
	}
	if c.then != nil {
		if err := c.then(ctx, s, number); err != nil {
			return 0, err
		}
	}
	return number, nil
}

// createVersionAlone is c in a transaction of its own (in the caller's,
// inside one), tried again when MySQL chose it as a deadlock's victim: a
// shared transaction runs its creates' lineage in batch order, so the
// datasets and runs they register are not locked in the one order lone
// creates keep among themselves (lineage.go), and either side may be
// rolled back. Inside a caller's transaction the deadlock rolled that one
// back, so it is the caller's to run again.
func (s *Store) createVersionAlone(ctx context.Context, c versionCreate) (int, error) {
	var number int
	var err error
	for attempt := 1; ; attempt++ {
		err = s.inTxStore(ctx, func(tx *Store) error {
			var err error
			number, err = tx.insertVersionThen(ctx, c)
			return err
		})
		if s.inTx || attempt == maxDeadlockAttempts || !isDeadlock(err) {
			return number, err
		}
	}
}

// maxDeadlockAttempts bounds the tries of a lone create that deadlocks.
const maxDeadlockAttempts = 3

// isDeadlock reports whether err is MySQL's deadlock (1213): the
// transaction was rolled back whole, so running it again is safe.
func isDeadlock(err error) bool {
	var mysqlErr *gomysql.MySQLError
	return errors.As(err, &mysqlErr) && mysqlErr.Number == 1213
}

// errThenPanicked fails a shared transaction in which a create's then
// panicked: the others then run alone, as does the panicking one, which
// panics again in its own caller's goroutine rather than in the one that
// ran the batch.
var errThenPanicked = errors.New("a create's then panicked")

// runThen runs c's then in a shared transaction, a panic turned into
// errThenPanicked.
func runThen(ctx context.Context, tx *Store, c versionCreate, number int) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", errThenPanicked, r)
		}
	}()
	return c.then(ctx, tx, number)
}

// createVersions runs one batch of versionBatcher: a lone create in its
// caller's context as before, several in one transaction.
func (s *Store) createVersions(ctx context.Context, batch []groupcommit.Item[versionCreate]) []groupcommit.Result[int] {
	results := make([]groupcommit.Result[int], len(batch))
	if len(batch) == 1 {
		results[0].Value, results[0].Err = s.createVersionAlone(batch[0].Ctx, batch[0].Value)
		return results
	}
	ctx, cancel := context.WithTimeout(ctx, versionBatchTimeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	numbers := make([]int, len(batch))
	ranAll := false
	err := s.inTxStore(ctx, func(tx *Store) error {
		if err := tx.insertVersions(ctx, batch, numbers); err != nil {
			return err
		}
		for i, it := range batch {
			if it.Value.then == nil {
				continue
			}
			// then records who created the version from its own caller's
			// context, under the shared transaction's deadline, and without
			// the caller's admission turn, which its caller's goroutine
			// alone may give back or take (internal/turn).
			itemCtx, cancel := context.WithDeadline(turn.Without(context.WithoutCancel(it.Ctx)), deadline)
			err := runThen(itemCtx, tx, it.Value, numbers[i])
			cancel()
			if err != nil {
				return err
			}
		}
		// The events now rather than in inTxStore's commit, so that a
		// failure to write them still lets each create run alone.
		if err := tx.txAudit.write(tx.db.WithContext(ctx)); err != nil {
			return err
		}
		ranAll = true
		return nil
	})
	switch {
	case err == nil:
		for i := range results {
			results[i].Value = numbers[i]
		}
	case ranAll:
		// The commit failed:
		// it may have committed all the same (a connection lost during
		// COMMIT), so creating the versions again could create them twice.
		// Each caller gets the error, as a lone create would.
		return groupcommit.Same[int](len(batch), err)
	default:
		s.logger.DebugContext(ctx, "shared create of versions rolled back; each runs alone", "creates", len(batch), "err", err)
		return groupcommit.Same[int](len(batch), errCreateAlone)
	}
	return results
}

// insertVersions stores the batch's versions in the caller's transaction,
// setting numbers[i] to the i-th one's number. On MySQL it takes every
// model's numbers in one UPDATE and writes the rows in multi-row INSERTs;
// on SQLite, where the transaction holds the database's only write lock
// anyway, one after the other.
func (s *Store) insertVersions(ctx context.Context, batch []groupcommit.Item[versionCreate], numbers []int) error {
	if s.dialect != dialectMySQL {
		for i, it := range batch {
			n, err := s.insertVersion(ctx, it.Value)
			if err != nil {
				return err
			}
			numbers[i] = n
		}
		return nil
	}
	models, err := s.takeVersionNumbers(ctx, batch, numbers)
	if err != nil {
		return err
	}
	rows := make([]versionRow, len(batch))
	for i, it := range batch {
		rows[i] = it.Value.row
		rows[i].ModelID, rows[i].Number = models[it.Value.model].id, numbers[i]
	}
	db := s.db.WithContext(ctx)
	if err := db.CreateInBatches(rows, maxVersionBatch).Error; err != nil {
		return dbErr("create versions", err)
	}
	if err := s.readVersionIDs(ctx, models, rows); err != nil {
		return err
	}
	var kv versionKV
	for i, it := range batch {
		kv.add(rows[i], it.Value.tags, it.Value.params)
	}
	return s.insertVersionKV(ctx, kv)
}

// batchModel is one model of a batch of creates: its id, how many
// versions the batch creates of it and the first of their numbers.
type batchModel struct {
	id         int64
	count      int
	firstFresh int
}

// takeVersionNumbers bumps the latest_version of every model the batch
// names, by the number of its creates, in one UPDATE (locking the models'
// rows to the commit, in the order of their ids, so two batches cannot
// deadlock on each other), reads the results in one SELECT, and hands the
// numbers out in the batch's order. A model not found, or a remembered id
// that is no longer its model's, fails the batch: each create then runs
// alone and says which model is missing.
func (s *Store) takeVersionNumbers(ctx context.Context, batch []groupcommit.Item[versionCreate], numbers []int) (map[string]*batchModel, error) {
	models := map[string]*batchModel{}
	var names []string
	for _, it := range batch {
		m := models[it.Value.model]
		if m == nil {
			m = &batchModel{}
			models[it.Value.model] = m
			names = append(names, it.Value.model)
		}
		m.count++
	}
	byID := make(map[int64]string, len(models))
	var cases strings.Builder
	args := make([]any, 0, 3*len(models))
	ids := make([]any, 0, len(models))
	cases.WriteString("UPDATE models SET latest_version = latest_version + CASE id")
	for _, name := range names {
		id, err := s.rememberedModelID(ctx, name)
		if err != nil {
			return nil, err
		}
		models[name].id = id
		byID[id] = name
		cases.WriteString(" WHEN ? THEN ?")
		args = append(args, id, models[name].count)
		ids = append(ids, id)
	}
	cases.WriteString(" END WHERE id IN (?" + strings.Repeat(", ?", len(ids)-1) + ")")
	args = append(args, ids...)
	db := s.db.WithContext(ctx)
	if err := db.Exec(cases.String(), args...).Error; err != nil {
		return nil, dbErr("take version numbers", err)
	}
	var got []modelRow
	if err := db.Select("id", "name", "latest_version").Where("id IN ?", ids).Find(&got).Error; err != nil {
		return nil, dbErr("take version numbers", err)
	}
	for _, r := range got {
		if name, ok := byID[r.ID]; ok && name == r.Name {
			models[name].firstFresh = r.LatestVersion - models[name].count + 1
		}
	}
	next := make(map[string]int, len(models))
	for _, name := range names {
		if models[name].firstFresh == 0 {
			return nil, modelkeep.Errorf(modelkeep.ErrNotFound, "model %q not found under id %d", name, models[name].id)
		}
		next[name] = models[name].firstFresh
	}
	for i, it := range batch {
		numbers[i] = next[it.Value.model]
		next[it.Value.model]++
	}
	return models, nil
}

// readVersionIDs sets the ID of each of rows, just inserted, from the
// database: a multi-row INSERT's ids are consecutive only under some of
// InnoDB's auto-increment lock modes, so they are read back, in one
// SELECT, by the (model, number) ranges the batch holds locked.
func (s *Store) readVersionIDs(ctx context.Context, models map[string]*batchModel, rows []versionRow) error {
	var where strings.Builder
	args := make([]any, 0, 3*len(models))
	for _, m := range models {
		if where.Len() > 0 {
			where.WriteString(" OR ")
		}
		where.WriteString("(model_id = ? AND number BETWEEN ? AND ?)")
		args = append(args, m.id, m.firstFresh, m.firstFresh+m.count-1)
	}
	var got []versionRow
	err := s.db.WithContext(ctx).Select("id", "model_id", "number").Where(where.String(), args...).Find(&got).Error
	if err != nil {
		return dbErr("read new version ids", err)
	}
	type key struct {
		model  int64
		number int
	}
	idOf := make(map[key]int64, len(got))
	for _, r := range got {
		idOf[key{r.ModelID, r.Number}] = r.ID
	}
	for i := range rows {
		id, ok := idOf[key{rows[i].ModelID, rows[i].Number}]
		if !ok {
			return fmt.Errorf("create versions: version %d of model id %d not found after its insert", rows[i].Number, rows[i].ModelID)
		}
		rows[i].ID = id
	}
	return nil
}
