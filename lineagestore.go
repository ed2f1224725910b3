package modelkeep

import "context"

// LineageStore keeps datasets, training runs, the lineage graph that links
// them to versions and deployments, and answers metric comparisons across a
// model's versions. Part of MetaStore.
type LineageStore interface {
	// CreateDataset inserts d; ErrConflict when its name and version exist.
	CreateDataset(ctx context.Context, d Dataset) error
	GetDataset(ctx context.Context, name, version string) (Dataset, error)
	// FillDataset sets each non-empty optional field of d (URI, SHA256,
	// Size, License, Description) that the stored record has empty, leaving
	// the others as they are, and sets UpdatedAt. ErrNotFound if absent.
	FillDataset(ctx context.Context, d Dataset) error
	// ListDatasets returns up to f.Limit datasets ordered by name, then
	// version, after (f.AfterName, f.AfterVersion).
	ListDatasets(ctx context.Context, f DatasetFilter) ([]Dataset, error)
	// DatasetUsers lists the versions with a lineage edge from dataset
	// f.Name@f.Version, one per edge (a version that used it in two roles
	// is listed twice), newest first (see DatasetUseFilter), up to f.Limit
	// after f.After, leaving out models outside f.Patterns (when not
	// empty). ErrNotFound when the dataset does not exist.
	DatasetUsers(ctx context.Context, f DatasetUseFilter) ([]DatasetUse, error)

	// CreateRun inserts r; ErrConflict when its id exists.
	CreateRun(ctx context.Context, r Run) error
	GetRun(ctx context.Context, id string) (Run, error)
	// FillRun sets each non-empty field of r (GitCommit, CodeURI, Parameters,
	// Environment) that the stored record has empty. ErrNotFound if absent.
	FillRun(ctx context.Context, r Run) error

	// AddLineage records links, each once: a link that exists already is
	// left alone. ErrNotFound when a node does not exist.
	AddLineage(ctx context.Context, links []LineageLink) error
	// Lineage walks the graph from a version breadth-first, one query per
	// level and direction, within q's depth and node cap (see LineageQuery).
	// ErrNotFound when the version does not exist.
	Lineage(ctx context.Context, q LineageQuery) (LineageGraph, error)

	// CompareMetrics returns one value per series (version, dataset, split,
	// environment) of metric f.Key, aggregated as f.Aggregate, for up to
	// f.Limit versions of f.Model that have the metric, newest first.
	// ErrNotFound when the model does not exist.
	CompareMetrics(ctx context.Context, f MetricComparisonFilter) ([]VersionMetric, error)
}
