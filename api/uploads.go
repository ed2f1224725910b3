package api

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/api/openapi"
	"github.com/modelkeep/modelkeep/uploads"
)

// uploadPartRoute is the byte route of resumable uploads: a part's body
// streams to the blob store.
const uploadPartRoute = "/api/v1/models/:model/versions/:version/uploads/:upload_id/parts/:part_number"

// errNoUploads answers the upload routes of a server built without them.
var errNoUploads = modelkeep.Errorf(modelkeep.ErrUnavailable, "this server has no resumable uploads")

func (h *Handlers) up() (*uploads.Service, error) {
	if h.uploads == nil {
		return nil, errNoUploads
	}
	return h.uploads, nil
}

// toUpload converts a session; presigned says whether its parts may go
// straight to the blob store.
func toUpload(u uploads.Upload, presigned bool) openapi.Upload {
	out := openapi.Upload{
		Id: u.ID, Model: u.Model, Version: u.Version, Path: u.Path, Size: u.Size, Sha256: optString(u.SHA256),
		PartSize: u.PartSize, PartCount: u.PartCount(), Status: openapi.UploadStatus(u.Status), CreatedBy: u.CreatedBy,
		CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, ExpiresAt: u.ExpiresAt, PresignedParts: presigned,
	}
	if presigned && u.PartChecksum != "" {
		sum := openapi.UploadPartChecksum(u.PartChecksum)
		out.PartChecksum = &sum
	}
	return out
}

func toUploadPart(p uploads.Part) openapi.UploadPart {
	return openapi.UploadPart{Number: p.Number, Size: p.Size, Sha256: optString(p.SHA256), Crc32c: optString(p.CRC32C)}
}

func (h *Handlers) CreateUpload(ctx context.Context, req openapi.CreateUploadRequestObject) (openapi.CreateUploadResponseObject, error) {
	us, err := h.up()
	if err != nil {
		return nil, err
	}
	u, err := us.Create(ctx, uploads.CreateInput{
		Model: req.Model, Version: req.Version, Path: req.Body.Path, Size: req.Body.Size, SHA256: deref(req.Body.Sha256),
	})
	if err != nil {
		return nil, err
	}
	return openapi.CreateUpload201JSONResponse{Body: toUpload(u, us.PresignsParts())}, nil
}

func (h *Handlers) ListUploads(ctx context.Context, req openapi.ListUploadsRequestObject) (openapi.ListUploadsResponseObject, error) {
	us, err := h.up()
	if err != nil {
		return nil, err
	}
	list, next, err := us.List(ctx, uploads.ListInput{
		Model: req.Model, Version: req.Version, Status: string(deref(req.Params.Status)),
		PageSize: deref(req.Params.PageSize), PageToken: deref(req.Params.PageToken),
	})
	if err != nil {
		return nil, err
	}
	out := openapi.UploadList{Uploads: make([]openapi.Upload, 0, len(list)), NextPageToken: next}
	for _, u := range list {
		out.Uploads = append(out.Uploads, toUpload(u, us.PresignsParts()))
	}
	return openapi.ListUploads200JSONResponse{Body: out}, nil
}

func (h *Handlers) GetUpload(ctx context.Context, req openapi.GetUploadRequestObject) (openapi.GetUploadResponseObject, error) {
	us, err := h.up()
	if err != nil {
		return nil, err
	}
	u, parts, err := us.Get(ctx, req.Model, req.Version, req.UploadId)
	if err != nil {
		return nil, err
	}
	out := toUpload(u, us.PresignsParts())
	ps := make([]openapi.UploadPart, 0, len(parts))
	var received int64
	for _, p := range parts {
		ps = append(ps, toUploadPart(p))
		received += p.Size
	}
	out.Parts, out.ReceivedBytes = &ps, &received
	return openapi.GetUpload200JSONResponse{Body: out}, nil
}

func (h *Handlers) AbortUpload(ctx context.Context, req openapi.AbortUploadRequestObject) (openapi.AbortUploadResponseObject, error) {
	us, err := h.up()
	if err != nil {
		return nil, err
	}
	if err := us.Abort(ctx, req.Model, req.Version, req.UploadId); err != nil {
		return nil, err
	}
	return openapi.AbortUpload204Response{}, nil
}

func (h *Handlers) PresignUploadParts(ctx context.Context, req openapi.PresignUploadPartsRequestObject) (openapi.PresignUploadPartsResponseObject, error) {
	us, err := h.up()
	if err != nil {
		return nil, err
	}
	in := uploads.PresignInput{Model: req.Model, Version: req.Version, ID: req.UploadId}
	for _, p := range req.Body.Parts {
		in.Parts = append(in.Parts, uploads.PartChecksum{Number: p.Number, SHA256: deref(p.Sha256), CRC32C: deref(p.Crc32c)})
	}
	parts, err := us.PresignParts(ctx, in)
	if err != nil {
		return nil, err
	}
	out := openapi.PartURLs{Parts: make([]openapi.PartURL, len(parts))}
	for i, p := range parts {
		out.Parts[i] = openapi.PartURL{Number: p.Number, Size: p.Size, Method: openapi.PartURLMethod(p.Request.Method), Url: p.Request.URL, Headers: p.Request.Header}
		if i == 0 || p.Request.Expires.Before(out.ExpiresAt) {
			out.ExpiresAt = p.Request.Expires
		}
	}
	return openapi.PresignUploadParts200JSONResponse{Body: out}, nil
}

func (h *Handlers) CompleteUpload(ctx context.Context, req openapi.CompleteUploadRequestObject) (openapi.CompleteUploadResponseObject, error) {
	us, err := h.up()
	if err != nil {
		return nil, err
	}
	f, created, err := us.Complete(ctx, req.Model, req.Version, req.UploadId, deref(req.Params.XChecksumSha256))
	if err != nil {
		return nil, err
	}
	if created {
		return openapi.CompleteUpload201JSONResponse{Body: toFile(f)}, nil
	}
	return openapi.CompleteUpload200JSONResponse{Body: toFile(f)}, nil
}

// UploadPart handles PUT .../uploads/{upload_id}/parts/{part_number}: the
// body streams to the blob store, as an artifact upload does.
func (h *Handlers) UploadPart(c echo.Context) error {
	us, err := h.up()
	if err != nil {
		return err
	}
	model, err := rawParam(c, "model")
	if err != nil {
		return err
	}
	version, ok := CanonicalInt(c.Param("version"))
	if !ok || version < 1 || version > modelkeep.MaxVersionNumber {
		return modelkeep.Errorf(modelkeep.ErrInvalid, "invalid version parameter %q: want a number from 1 to %d in canonical form (decimal digits, no sign, no leading zero)",
			c.Param("version"), modelkeep.MaxVersionNumber)
	}
	number, ok := CanonicalInt(c.Param("part_number"))
	if !ok || number < 1 || number > modelkeep.MaxParts {
		return modelkeep.Errorf(modelkeep.ErrInvalid, "invalid part_number parameter %q: want a number from 1 to %d in canonical form",
			c.Param("part_number"), modelkeep.MaxParts)
	}
	req := c.Request()
	checksum, err := checksumHeader(req.Header)
	if err != nil {
		return err
	}
	if req.ContentLength > modelkeep.MaxPartSize {
		return modelkeep.Errorf(modelkeep.ErrTooLarge, "a part of %d bytes is larger than parts can be (%d bytes)", req.ContentLength, int64(modelkeep.MaxPartSize))
	}
	_ = http.NewResponseController(c.Response()).SetReadDeadline(time.Time{})
	body := tooLargeReader{r: http.MaxBytesReader(c.Response(), req.Body, modelkeep.MaxPartSize), limit: modelkeep.MaxPartSize}
	p, err := us.PutPart(req.Context(), uploads.PartInput{
		Model: model, Version: int(version), ID: c.Param("upload_id"), Number: int(number),
		Body: body, Size: req.ContentLength, SHA256: checksum,
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toUploadPart(p))
}
