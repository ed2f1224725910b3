package api

import (
	"context"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/api/openapi"
)

func (h *Handlers) CreateModel(ctx context.Context, req openapi.CreateModelRequestObject) (openapi.CreateModelResponseObject, error) {
	m, err := h.svc.CreateModel(ctx, modelkeep.CreateModelInput{
		Name: req.Body.Name, Description: deref(req.Body.Description), Tags: derefMap(req.Body.Tags),
	})
	if err != nil {
		return nil, err
	}
	return openapi.CreateModel201JSONResponse{Body: toModel(m)}, nil
}

func (h *Handlers) ListModels(ctx context.Context, req openapi.ListModelsRequestObject) (openapi.ListModelsResponseObject, error) {
	models, next, err := h.svc.ListModels(ctx, modelkeep.ListModelsInput{
		Query: deref(req.Params.Q), Tag: deref(req.Params.Tag),
		Filter: deref(req.Params.Filter), OrderBy: deref(req.Params.OrderBy),
		PageSize: deref(req.Params.PageSize), PageToken: deref(req.Params.PageToken),
	})
	if err != nil {
		return nil, err
	}
	out := openapi.ModelList{Models: make([]openapi.Model, 0, len(models)), NextPageToken: next}
	for _, m := range models {
		out.Models = append(out.Models, toModel(m))
	}
	return openapi.ListModels200JSONResponse{Body: out}, nil
}

func (h *Handlers) GetModel(ctx context.Context, req openapi.GetModelRequestObject) (openapi.GetModelResponseObject, error) {
	m, err := h.svc.GetModel(ctx, req.Model)
	if err != nil {
		return nil, err
	}
	return openapi.GetModel200JSONResponse{Body: toModel(m)}, nil
}

func (h *Handlers) UpdateModel(ctx context.Context, req openapi.UpdateModelRequestObject) (openapi.UpdateModelResponseObject, error) {
	m, err := h.svc.UpdateModel(ctx, req.Model, modelkeep.ModelPatch{
		Description: req.Body.Description, Tags: derefMap(req.Body.Tags), SetTags: req.Body.Tags != nil,
	})
	if err != nil {
		return nil, err
	}
	return openapi.UpdateModel200JSONResponse{Body: toModel(m)}, nil
}

func (h *Handlers) DeleteModel(ctx context.Context, req openapi.DeleteModelRequestObject) (openapi.DeleteModelResponseObject, error) {
	if err := h.svc.DeleteModel(ctx, req.Model); err != nil {
		return nil, err
	}
	return openapi.DeleteModel204Response{}, nil
}
