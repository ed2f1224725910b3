package api

import (
	"context"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/api/openapi"
)

func (h *Handlers) CreateVersion(ctx context.Context, req openapi.CreateVersionRequestObject) (openapi.CreateVersionResponseObject, error) {
	in := modelkeep.CreateVersionInput{
		Description: deref(req.Body.Description),
		Tags:        derefMap(req.Body.Tags),
		Params:      deref(req.Body.Params),
		Source:      fromSource(req.Body.Source),
		Datasets:    fromDatasets(req.Body.Datasets),
	}
	if p := req.Body.Parent; p != nil {
		in.Parent = &modelkeep.VersionRef{Model: p.Model, Version: p.Version}
		in.ParentRelation = string(deref(p.Relation))
	}
	in.Run = fromRunDetails(req.Body.Run)
	v, err := h.svc.CreateVersion(ctx, req.Model, in)
	if err != nil {
		return nil, err
	}
	return openapi.CreateVersion201JSONResponse{Body: toVersion(v)}, nil
}

func (h *Handlers) ListVersions(ctx context.Context, req openapi.ListVersionsRequestObject) (openapi.ListVersionsResponseObject, error) {
	versions, next, err := h.svc.ListVersions(ctx, modelkeep.ListVersionsInput{
		Model: req.Model, Stage: string(deref(req.Params.Stage)), Status: string(deref(req.Params.Status)),
		Filter: deref(req.Params.Filter), OrderBy: deref(req.Params.OrderBy),
		PageSize: deref(req.Params.PageSize), PageToken: deref(req.Params.PageToken),
	})
	if err != nil {
		return nil, err
	}
	// Encoded by appendVersion, as ListVersions200JSONResponse would be.
	return versionListResponse{versions: versions, nextPageToken: next}, nil
}

func (h *Handlers) GetVersion(ctx context.Context, req openapi.GetVersionRequestObject) (openapi.GetVersionResponseObject, error) {
	v, err := h.svc.GetVersion(ctx, req.Model, req.Version)
	if err != nil {
		return nil, err
	}
	return versionResponse(v), nil // encoded as GetVersion200JSONResponse would be
}

func (h *Handlers) FinalizeVersion(ctx context.Context, req openapi.FinalizeVersionRequestObject) (openapi.FinalizeVersionResponseObject, error) {
	v, err := h.svc.Finalize(ctx, req.Model, req.Version)
	if err != nil {
		return nil, err
	}
	return openapi.FinalizeVersion200JSONResponse{Body: toVersion(v)}, nil
}

func (h *Handlers) ListFiles(ctx context.Context, req openapi.ListFilesRequestObject) (openapi.ListFilesResponseObject, error) {
	files, digest, err := h.svc.ListFiles(ctx, req.Model, req.Version)
	if err != nil {
		return nil, err
	}
	out := openapi.FileList{Files: make([]openapi.File, 0, len(files)), ManifestDigest: optString(digest)}
	for _, f := range files {
		out.Files = append(out.Files, toFile(f))
	}
	return openapi.ListFiles200JSONResponse{Body: out}, nil
}

func (h *Handlers) PresignFiles(ctx context.Context, req openapi.PresignFilesRequestObject) (openapi.PresignFilesResponseObject, error) {
	files, err := h.svc.PresignFiles(ctx, req.Model, req.Version, req.Body.Paths, h.presignTTL)
	if err != nil {
		return nil, err
	}
	out := openapi.FileURLs{Files: make([]openapi.FileURL, len(files))}
	for i, f := range files {
		out.Files[i] = openapi.FileURL{Path: f.File.Path, Size: f.File.Size, Sha256: f.File.SHA256, Url: f.URL}
		if i == 0 || f.Expires.Before(out.ExpiresAt) {
			out.ExpiresAt = f.Expires
		}
	}
	return openapi.PresignFiles200JSONResponse{Body: out}, nil
}

func (h *Handlers) DeleteVersion(ctx context.Context, req openapi.DeleteVersionRequestObject) (openapi.DeleteVersionResponseObject, error) {
	if err := h.svc.DeleteVersion(ctx, req.Model, req.Version); err != nil {
		return nil, err
	}
	return openapi.DeleteVersion204Response{}, nil
}
