package store

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/internal/boundedmap"
)

// versionBody is the part of a version written when it is created and never
// changed (versions_read.go), decoded. Versions assembled from one share its
// maps and slices: they are read-only, like every Version the store returns.
type versionBody struct {
	// The row the body belongs to: a cached body serves a row only when all
	// three match (ids alone could in principle be reused after a rollback
	// on SQLite).
	modelID   int64
	number    int
	createdAt time.Time

	description    string
	tags, params   map[string]string
	source         modelkeep.Source
	datasets       []modelkeep.DatasetRef
	parent         *modelkeep.VersionRef
	createdBy      string
	approxByteSize int
}

// decodeBody decodes the body columns of r (model names the version in
// errors).
func decodeBody(model string, r versionRow) (*versionBody, error) {
	tags, err := decodeMap(r.Tags)
	if err != nil {
		return nil, fmt.Errorf("decode tags of version %s/%d: %w", model, r.Number, err)
	}
	params, err := decodeMap(r.Params)
	if err != nil {
		return nil, fmt.Errorf("decode params of version %s/%d: %w", model, r.Number, err)
	}
	var ds []datasetJSON
	if r.Datasets != "" && r.Datasets != "[]" {
		if err := json.Unmarshal([]byte(r.Datasets), &ds); err != nil {
			return nil, fmt.Errorf("decode datasets of version %s/%d: %w", model, r.Number, err)
		}
	}
	datasets := make([]modelkeep.DatasetRef, 0, len(ds))
	for _, d := range ds {
		datasets = append(datasets, modelkeep.DatasetRef(d))
	}
	b := &versionBody{
		modelID: r.ModelID, number: r.Number, createdAt: r.CreatedAt,
		description: r.Description, tags: tags, params: params,
		source:   modelkeep.Source{RunID: r.SourceRunID, GitCommit: r.SourceGitCommit, CodeURI: r.SourceCodeURI},
		datasets: datasets, createdBy: r.CreatedBy,
		approxByteSize: 256 + len(r.Description) + 2*(len(r.Tags)+len(r.Params)+len(r.Datasets)) +
			len(r.SourceRunID) + len(r.SourceGitCommit) + len(r.SourceCodeURI) + len(r.CreatedBy),
	}
	if r.ParentModel != nil && r.ParentVersion != nil {
		b.parent = &modelkeep.VersionRef{Model: *r.ParentModel, Version: *r.ParentVersion}
	}
	return b, nil
}

// assembleVersion is the version of model whose state is st and body b.
func assembleVersion(model string, st versionState, b *versionBody) modelkeep.Version {
	v := modelkeep.Version{
		Model:          model,
		Number:         st.number,
		Description:    b.description,
		Tags:           b.tags,
		Params:         b.params,
		Source:         b.source,
		Datasets:       b.datasets,
		Parent:         b.parent,
		Status:         modelkeep.VersionStatus(st.status),
		Stage:          modelkeep.Stage(st.stage),
		Aliases:        splitAliasNames(st.aliasNames),
		ManifestDigest: st.manifestDigest,
		CreatedBy:      b.createdBy,
		CreatedAt:      st.createdAt.UTC(),
		UpdatedAt:      st.updatedAt.UTC(),
		EverProduction: st.everProduction,
	}
	if st.finalizedAt.Valid {
		t := st.finalizedAt.Time.UTC()
		v.FinalizedAt = &t
	}
	if st.sortValue.Valid {
		sv := st.sortValue.Float64
		v.SortValue = &sv
	}
	return v
}

// splitAliasNames is the sorted list of aliases in versions.alias_names
// (empty, not nil, when there is none). Writers store them sorted; rows
// filled by the migration (0046) on SQLite may not be.
func splitAliasNames(names sql.NullString) []string {
	if !names.Valid {
		return []string{}
	}
	aliases := strings.Fields(names.String)
	if !slices.IsSorted(aliases) {
		slices.Sort(aliases)
	}
	return aliases
}

// joinAliasNames is the versions.alias_names of a version with the sorted
// aliases names: NULL when there is none.
func joinAliasNames(names []string) *string {
	if len(names) == 0 {
		return nil
	}
	joined := strings.Join(names, " ")
	return &joined
}

// Bounds of the body cache: at most bodyCacheEntries bodies, none larger
// than maxCachedBody (estimated), so at most 64 MiB; a version list's page
// of 100 typical versions takes about 100 KiB.
const (
	bodyCacheEntries = 16384
	maxCachedBody    = 4 << 10
)

// bodyCache holds recently read version bodies by row id
// (internal/boundedmap), and serves one only to the row it was read from.
type bodyCache struct {
	m *boundedmap.Map[int64, *versionBody]
}

func newBodyCache(entries int) *bodyCache {
	return &bodyCache{m: boundedmap.New[int64, *versionBody](entries)}
}

// get returns the cached body of the version whose state is st, or nil.
func (c *bodyCache) get(st versionState) *versionBody {
	b, _ := c.m.Get(st.id)
	if b == nil || b.modelID != st.modelID || b.number != st.number || !b.createdAt.Equal(st.createdAt) {
		return nil
	}
	return b
}

func (c *bodyCache) put(id int64, b *versionBody) {
	if b.approxByteSize <= maxCachedBody {
		c.m.Put(id, b)
	}
}
