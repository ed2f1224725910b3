package api

import (
	"context"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/api/openapi"
)

func toDataset(d modelkeep.Dataset) openapi.Dataset {
	out := openapi.Dataset{
		Name: d.Name, Version: d.Version, Uri: optString(d.URI), Sha256: optString(d.SHA256),
		License: optString(d.License), Description: d.Description,
		CreatedBy: d.CreatedBy, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt,
	}
	if d.Size != 0 {
		out.Size = &d.Size
	}
	return out
}

func (h *Handlers) CreateDataset(ctx context.Context, req openapi.CreateDatasetRequestObject) (openapi.CreateDatasetResponseObject, error) {
	b := req.Body
	d, created, err := h.svc.RegisterDataset(ctx, modelkeep.Dataset{
		Name: b.Name, Version: b.Version, URI: deref(b.Uri), SHA256: deref(b.Sha256), Size: deref(b.Size),
		License: deref(b.License), Description: deref(b.Description),
	})
	if err != nil {
		return nil, err
	}
	if created {
		return openapi.CreateDataset201JSONResponse{Body: toDataset(d)}, nil
	}
	return openapi.CreateDataset200JSONResponse{Body: toDataset(d)}, nil
}

func (h *Handlers) ListDatasets(ctx context.Context, req openapi.ListDatasetsRequestObject) (openapi.ListDatasetsResponseObject, error) {
	ds, next, err := h.svc.ListDatasets(ctx, modelkeep.ListDatasetsInput{
		Name: deref(req.Params.Name), PageSize: deref(req.Params.PageSize), PageToken: deref(req.Params.PageToken),
	})
	if err != nil {
		return nil, err
	}
	out := openapi.DatasetList{Datasets: make([]openapi.Dataset, 0, len(ds)), NextPageToken: next}
	for _, d := range ds {
		out.Datasets = append(out.Datasets, toDataset(d))
	}
	return openapi.ListDatasets200JSONResponse{Body: out}, nil
}

func (h *Handlers) GetDataset(ctx context.Context, req openapi.GetDatasetRequestObject) (openapi.GetDatasetResponseObject, error) {
	d, err := h.svc.GetDataset(ctx, req.Name, req.Version, modelkeep.GetDatasetInput{
		PageSize: deref(req.Params.PageSize), PageToken: deref(req.Params.PageToken),
	})
	if err != nil {
		return nil, err
	}
	out := toDataset(d.Dataset)
	uses := make([]openapi.DatasetUse, 0, len(d.UsedBy))
	for _, u := range d.UsedBy {
		uses = append(uses, openapi.DatasetUse{Model: u.Model, Version: u.Version, Role: u.Role})
	}
	// used_by_truncated (deprecated) is whether there is a next page.
	truncated := d.UsedByNextPageToken != ""
	out.UsedBy, out.UsedByTruncated, out.NextPageToken = &uses, &truncated, &d.UsedByNextPageToken
	return openapi.GetDataset200JSONResponse{Body: out}, nil
}

// fromRunDetails converts the run details of a create-version request.
func fromRunDetails(r *openapi.RunDetails) *modelkeep.RunDetails {
	if r == nil {
		return nil
	}
	out := &modelkeep.RunDetails{Parameters: deref(r.Parameters)}
	if e := r.Environment; e != nil {
		out.Environment = modelkeep.RunEnvironment{
			Framework: deref(e.Framework), FrameworkVersion: deref(e.FrameworkVersion),
			Libraries: deref(e.Libraries), Hardware: deref(e.Hardware),
		}
	}
	return out
}
