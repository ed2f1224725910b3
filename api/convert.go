package api

import (
	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/api/openapi"
)

func toModel(m modelkeep.Model) openapi.Model {
	return openapi.Model{
		Name: m.Name, Description: m.Description, Tags: openapi.Tags(nonNilMap(m.Tags)),
		LatestVersion: m.LatestVersion, CreatedBy: m.CreatedBy, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt,
		ProductionVersion: optInt(m.ProductionVersion),
	}
}

// optInt maps 0 to an absent (nil) optional field.
func optInt(n int) *int {
	if n == 0 {
		return nil
	}
	return &n
}

func toVersion(v modelkeep.Version) openapi.Version {
	out := openapi.Version{
		Model: v.Model, Version: v.Number, Description: v.Description,
		Tags: openapi.Tags(nonNilMap(v.Tags)), Params: nonNilMap(v.Params),
		Source:   toSource(v.Source),
		Datasets: toDatasetRefs(v.Datasets),
		Status:   openapi.VersionStatus(v.Status), Stage: openapi.Stage(v.Stage),
		Aliases:   v.Aliases,
		CreatedBy: v.CreatedBy, CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt, FinalizedAt: v.FinalizedAt,
	}
	if out.Aliases == nil {
		out.Aliases = []string{}
	}
	if v.Parent != nil {
		out.Parent = &openapi.VersionRef{Model: v.Parent.Model, Version: v.Parent.Version}
	}
	out.ManifestDigest = optString(v.ManifestDigest)
	return out
}

// toDatasetRefs converts a version's dataset references (never nil).
func toDatasetRefs(ds []modelkeep.DatasetRef) []openapi.DatasetRef {
	out := make([]openapi.DatasetRef, 0, len(ds))
	for _, d := range ds {
		out = append(out, openapi.DatasetRef{
			Name: d.Name, Version: optString(d.Version), Uri: optString(d.URI), Sha256: optString(d.SHA256),
			Role: (*openapi.DatasetRefRole)(optString(d.Role)),
		})
	}
	return out
}

func toSource(s modelkeep.Source) openapi.Source {
	return openapi.Source{RunId: optString(s.RunID), GitCommit: optString(s.GitCommit), CodeUri: optString(s.CodeURI)}
}

func fromSource(s *openapi.Source) modelkeep.Source {
	if s == nil {
		return modelkeep.Source{}
	}
	return modelkeep.Source{RunID: deref(s.RunId), GitCommit: deref(s.GitCommit), CodeURI: deref(s.CodeUri)}
}

func fromDatasets(ds *[]openapi.DatasetRef) []modelkeep.DatasetRef {
	if ds == nil {
		return nil
	}
	out := make([]modelkeep.DatasetRef, 0, len(*ds))
	for _, d := range *ds {
		out = append(out, modelkeep.DatasetRef{
			Name: d.Name, Version: deref(d.Version), URI: deref(d.Uri), SHA256: deref(d.Sha256),
			Role: string(deref(d.Role)),
		})
	}
	return out
}

func toFile(f modelkeep.File) openapi.File {
	return openapi.File{Path: f.Path, Size: f.Size, Sha256: f.SHA256}
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// optString maps "" to an absent (nil) optional field.
func optString(s string) *string {
	if s == "" {
		return nil
	}
	p := new(string) // not &s, which would put s on the heap on every call
	*p = s
	return p
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func derefMap(p *openapi.Tags) map[string]string {
	if p == nil {
		return nil
	}
	return *p
}

// nonNil answers an empty list for nil: the contract's lists are never null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// optSlice maps an empty list to an absent (nil) optional field.
func optSlice[T any](s []T) *[]T {
	if len(s) == 0 {
		return nil
	}
	return &s
}

// optBool maps false to an absent (nil) optional field.
func optBool(b bool) *bool {
	if !b {
		return nil
	}
	return &b
}
