package modelkeep

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Dataset is one version of a dataset, registered so that model versions
// can be traced back to the data they were trained and evaluated on. Its
// name and version identify it; its SHA256 and Size, once known, say which
// bytes that is and never change.
type Dataset struct {
	Name        string
	Version     string
	URI         string
	SHA256      string // lowercase hex, "" if unknown
	Size        int64  // bytes, 0 if unknown
	License     string
	Description string
	CreatedBy   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// DatasetFilter selects datasets in ListDatasets.
type DatasetFilter struct {
	Name string // "" for every dataset
	// Keyset: after (AfterName, AfterVersion) in name, version order.
	AfterName    string
	AfterVersion string
	Limit        int
}

// DatasetUse is one model version that used a dataset, and how.
type DatasetUse struct {
	Model   string
	Version int
	Role    string // the lineage relation: training, validation, ..., or input
	// VersionCreatedAt is when the version was created: uses are listed
	// newest first. It is not shown.
	VersionCreatedAt time.Time
}

// DatasetUseFilter selects and pages the versions that used a dataset.
type DatasetUseFilter struct {
	Name    string
	Version string
	// Patterns, when not empty, keeps only the versions of models matching
	// one of these globs (* and ?): the caller's model scope.
	Patterns []string
	// After, when not nil, is the keyset position: the uses after it in
	// (VersionCreatedAt descending, Model, Version descending, Role) order.
	After *DatasetUse
	Limit int // every use when <= 0
}

// DatasetDetail is a dataset with a page of the model versions that used
// it.
type DatasetDetail struct {
	Dataset
	UsedBy []DatasetUse
	// UsedByNextPageToken continues UsedBy ("" on its last page).
	UsedByNextPageToken string
}

// Limits on dataset and run records.
const (
	MaxURILen        = 2048
	MaxLicenseLen    = 256
	MaxRunIDLen      = 256
	MaxGitCommitLen  = 64
	MaxLibraries     = 256
	MaxEnvFieldLen   = 512
	unversionedLabel = "unversioned"
)

var datasetVersionRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:+-]{0,127}$`)

// ValidateDatasetVersion checks a dataset version: 1 to 128 characters of
// letters, digits and . _ : + -, starting with a letter or digit, so that
// it can stand in a URL path (/datasets/{name}/versions/{version}).
func ValidateDatasetVersion(v string) error {
	if !datasetVersionRE.MatchString(v) {
		return Errorf(ErrInvalid, "invalid dataset version %q: must match [A-Za-z0-9][A-Za-z0-9._:+-]{0,127}", v)
	}
	return nil
}

// datasetVersionOf is the dataset version a version's reference names. A
// reference without a version is recorded under its content, sha256-<first
// 12 hex digits>, when it gives a digest: the same bytes then meet the same
// record. With neither, it is "unversioned": the lineage still shows that
// the data is not pinned.
func datasetVersionOf(d DatasetRef) string {
	switch {
	case d.Version != "":
		return d.Version
	case d.SHA256 != "":
		return "sha256-" + strings.ToLower(d.SHA256)[:12]
	}
	return unversionedLabel
}

// validate checks a dataset registration.
func (d Dataset) validate() error {
	if err := ValidateName("dataset", d.Name); err != nil {
		return err
	}
	if err := ValidateDatasetVersion(d.Version); err != nil {
		return err
	}
	if d.SHA256 != "" {
		if _, err := ParseSHA256(d.SHA256); err != nil {
			return err
		}
	}
	switch {
	case d.Size < 0:
		return Errorf(ErrInvalid, "size must not be negative")
	case len(d.URI) > MaxURILen:
		return Errorf(ErrInvalid, "uri is longer than %d bytes", MaxURILen)
	case len(d.License) > MaxLicenseLen:
		return Errorf(ErrInvalid, "license is longer than %d bytes", MaxLicenseLen)
	}
	return ValidateDescription(d.Description)
}

// reconcileDataset decides how a registration, or a version's reference
// (strict false), meets the stored record of the same name and version.
// Content set on both sides must agree: another sha256 or size under the
// same version is other data, and a dataset version names one content; the
// caller must register a new version. A registration must also agree on the
// descriptive fields it sets (it claims to describe this record), while a
// reference only adds what the record lacks: the version keeps its own URI
// in its datasets either way. It returns the fields to fill, if any.
func reconcileDataset(stored, in Dataset, strict bool) (fill Dataset, changed bool, err error) {
	fill = Dataset{Name: stored.Name, Version: stored.Version}
	id := stored.Name + "@" + stored.Version
	type field struct {
		name       string
		have, want string
		content    bool // identifies the bytes
		set        func(string)
	}
	fields := []field{
		{name: "sha256", have: stored.SHA256, want: in.SHA256, content: true, set: func(v string) { fill.SHA256 = v }},
		{name: "uri", have: stored.URI, want: in.URI, set: func(v string) { fill.URI = v }},
		{name: "license", have: stored.License, want: in.License, set: func(v string) { fill.License = v }},
		{name: "description", have: stored.Description, want: in.Description, set: func(v string) { fill.Description = v }},
	}
	if in.Size != 0 {
		fields = append(fields, field{name: "size", have: sizeText(stored.Size), want: sizeText(in.Size), content: true,
			set: func(string) { fill.Size = in.Size }})
	}
	for _, f := range fields {
		switch {
		case f.want == "" || f.want == f.have:
		case f.have == "":
			f.set(f.want)
			changed = true
		case f.content || strict:
			return Dataset{}, false, Errorf(ErrConflict, "dataset %s is registered with %s %q, not %q: register the other data under a new version",
				id, f.name, f.have, f.want)
		}
	}
	return fill, changed, nil
}

func sizeText(n int64) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprint(n)
}

// ensureDataset creates the dataset record of d or reconciles d with the
// stored one (see reconcileDataset), in tx. It reports whether it created
// the record.
func ensureDataset(ctx context.Context, tx MetaStore, d Dataset, strict bool) (created bool, err error) {
	stored, err := tx.GetDataset(ctx, d.Name, d.Version)
	if errors.Is(err, ErrNotFound) {
		err = tx.CreateDataset(ctx, d)
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, ErrConflict) {
			return false, err
		}
		// Another transaction registered it since: meet that record.
		stored, err = tx.GetDataset(ctx, d.Name, d.Version)
	}
	if err != nil {
		return false, err
	}
	fill, changed, err := reconcileDataset(stored, d, strict)
	if err != nil || !changed {
		return false, err
	}
	fill.UpdatedAt = d.UpdatedAt
	return false, tx.FillDataset(ctx, fill)
}

// RegisterDataset records a dataset version. Registering the same name and
// version again is idempotent when it tells the same: fields it leaves out
// are kept, fields the record lacks are added, a field it sets otherwise
// (another sha256, another uri) is ErrConflict. It returns the stored record
// and whether it was created.
func (s *Service) RegisterDataset(ctx context.Context, d Dataset) (Dataset, bool, error) {
	d.SHA256 = strings.ToLower(d.SHA256)
	if err := d.validate(); err != nil {
		return Dataset{}, false, err
	}
	now := s.Now()
	d.CreatedBy, d.CreatedAt, d.UpdatedAt = ActorName(ctx), now, now
	var (
		out     Dataset
		created bool
	)
	err := s.meta.InTx(ctx, func(tx MetaStore) error {
		var err error
		if created, err = ensureDataset(ctx, tx, d, true); err != nil {
			return err
		}
		if out, err = tx.GetDataset(ctx, d.Name, d.Version); err != nil {
			return err
		}
		return s.record(ctx, tx, "dataset.register", datasetResource(d.Name, d.Version), map[string]any{
			"created": created, "uri": d.URI, "sha256": d.SHA256, "size": d.Size, "license": d.License,
			"description": d.Description})
	})
	if err != nil {
		return Dataset{}, false, err
	}
	return out, created, nil
}

func datasetResource(name, version string) string { return "datasets/" + name + "/versions/" + version }

// GetDatasetInput pages the model versions that used a dataset.
type GetDatasetInput struct {
	PageSize  int
	PageToken string
}

// GetDataset reads a dataset version with a page of the model versions that
// used it, newest first; a token restricted to some models sees only their
// versions (the store matches the scope, so pages are full).
func (s *Service) GetDataset(ctx context.Context, name, version string, in GetDatasetInput) (DatasetDetail, error) {
	return getDataset(ctx, s.meta, s.pager, name, version, in)
}

// datasetUses is what reading a dataset with its uses needs from the store.
type datasetUses interface {
	GetDataset(ctx context.Context, name, version string) (Dataset, error)
	DatasetUsers(ctx context.Context, f DatasetUseFilter) ([]DatasetUse, error)
}

func getDataset(ctx context.Context, store datasetUses, pager *Pager, name, version string, in GetDatasetInput) (DatasetDetail, error) {
	if err := ValidateName("dataset", name); err != nil {
		return DatasetDetail{}, err
	}
	if err := ValidateDatasetVersion(version); err != nil {
		return DatasetDetail{}, err
	}
	pg, cur, err := pager.start(NewListing("getDataset", name, version), in.PageSize, in.PageToken)
	if err != nil {
		return DatasetDetail{}, err
	}
	f := DatasetUseFilter{Name: name, Version: version, Limit: pg.limit + 1}
	if in.PageToken != "" {
		if ValidateName("model", cur.Name) != nil || cur.Num < 1 || cur.Role == "" {
			return DatasetDetail{}, Errorf(ErrInvalid, "invalid page_token")
		}
		at, err := cursorTime(cur.Time)
		if err != nil {
			return DatasetDetail{}, err
		}
		f.After = &DatasetUse{Model: cur.Name, Version: int(cur.Num), Role: cur.Role, VersionCreatedAt: at}
	}
	if a, ok := ActorFrom(ctx); ok {
		f.Patterns = a.Models
	}
	d, err := store.GetDataset(ctx, name, version)
	if err != nil {
		return DatasetDetail{}, err
	}
	uses, err := store.DatasetUsers(ctx, f)
	if err != nil {
		return DatasetDetail{}, err
	}
	out := DatasetDetail{Dataset: d}
	out.UsedBy, out.UsedByNextPageToken = endPage(pg, uses, func(u DatasetUse) pageCursor {
		return pageCursor{Name: u.Model, Num: int64(u.Version), Role: u.Role, Time: u.VersionCreatedAt.UnixMicro()}
	})
	return out, nil
}

// ListDatasetsInput selects and pages datasets.
type ListDatasetsInput struct {
	Name      string
	PageSize  int
	PageToken string
}

// ListDatasets lists dataset versions by name, then version.
func (s *Service) ListDatasets(ctx context.Context, in ListDatasetsInput) ([]Dataset, string, error) {
	if in.Name != "" {
		if err := ValidateName("dataset", in.Name); err != nil {
			return nil, "", err
		}
	}
	pg, cur, err := s.pager.start(NewListing("listDatasets", in.Name), in.PageSize, in.PageToken)
	if err != nil {
		return nil, "", err
	}
	// The cursor's Name is "<name>@<version>": names cannot hold '@'.
	afterName, afterVersion, _ := strings.Cut(cur.Name, "@")
	ds, err := s.meta.ListDatasets(ctx, DatasetFilter{Name: in.Name, AfterName: afterName, AfterVersion: afterVersion, Limit: pg.limit + 1})
	if err != nil {
		return nil, "", err
	}
	ds, next := endPage(pg, ds, func(d Dataset) pageCursor { return pageCursor{Name: d.Name + "@" + d.Version} })
	return ds, next, nil
}
