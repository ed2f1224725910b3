package api

import (
	"context"
	"encoding/base64"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/api/openapi"
	"github.com/modelkeep/modelkeep/audit"
	"github.com/modelkeep/modelkeep/compliance"
	"github.com/modelkeep/modelkeep/modelcard"
)

// The compliance routes bound by hand: the document upload and download
// stream bytes; the card routes read and write modelcard.Card as is.
const (
	documentsRoute       = "/api/v1/documents"
	documentContentRoute = "/api/v1/documents/:id/content"
	modelCardRoute       = "/api/v1/models/:model/card"
	versionCardRoute     = "/api/v1/models/:model/versions/:version/card"
)

// isStreamingBody reports whether a request's body streams to the blob
// store: the validator and the JSON body limit leave it alone.
func isStreamingBody(method, route string) bool {
	return isByteRoute(route) || method == http.MethodPost && route == documentsRoute ||
		method == http.MethodPut && route == uploadPartRoute
}

// errNoCompliance answers the compliance routes of a server built without
// them (tests of the core alone).
var errNoCompliance = modelkeep.Errorf(modelkeep.ErrUnavailable, "this server has no compliance service")

func (h *Handlers) comp() (*compliance.Service, error) {
	if h.compliance == nil {
		return nil, errNoCompliance
	}
	return h.compliance, nil
}

func toSignoff(s compliance.Signoff) openapi.Signoff {
	return openapi.Signoff{DocumentId: s.DocumentID, Sha256: s.SHA256, Signer: s.Signer, SignedAt: audit.FormatTime(s.SignedAt),
		Meaning: s.Meaning, Comment: optString(s.Comment), KeyId: s.KeyID, Signature: base64.StdEncoding.EncodeToString(s.Signature)}
}

func toDocument(d compliance.Document) openapi.Document {
	out := openapi.Document{Id: d.ID, Sha256: d.SHA256, Kind: openapi.DocumentKind(d.Kind), Title: d.Title, Version: d.Version,
		MediaType: d.MediaType, Size: d.Size, Uri: "/api/v1/documents/" + d.ID, CreatedBy: d.CreatedBy, CreatedAt: d.CreatedAt,
		Signoffs: make([]openapi.Signoff, 0, len(d.Signoffs))}
	for _, s := range d.Signoffs {
		out.Signoffs = append(out.Signoffs, toSignoff(s))
	}
	return out
}

// UploadDocument handles POST /api/v1/documents: the body streams to the
// blob store (never read whole), as an artifact upload does.
func (h *Handlers) UploadDocument(c echo.Context) error {
	cs, err := h.comp()
	if err != nil {
		return err
	}
	req := c.Request()
	body, checksum, err := h.uploadBody(c)
	if err != nil {
		return err
	}
	q := c.QueryParams()
	for _, p := range []string{"kind", "title", "version"} {
		if len(q[p]) > 1 {
			return modelkeep.Errorf(modelkeep.ErrInvalid, "query parameter %s is given more than once", p)
		}
	}
	d, created, err := cs.AddDocument(req.Context(), compliance.DocumentInput{
		Kind: q.Get("kind"), Title: q.Get("title"), Version: q.Get("version"), MediaType: req.Header.Get(echo.HeaderContentType),
		Body: body, Size: req.ContentLength, ExpectedSHA256: checksum,
	})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return c.JSON(status, toDocument(d))
}

// DownloadDocument handles GET /api/v1/documents/{id}/content.
func (h *Handlers) DownloadDocument(c echo.Context) error {
	cs, err := h.comp()
	if err != nil {
		return err
	}
	req := c.Request()
	var doc content
	d, err := cs.OpenDocument(req.Context(), c.Param("id"), func(d compliance.Document) error {
		doc = content{sha256: d.SHA256, size: d.Size}
		return checkDownload(req, doc, true)
	})
	if err != nil {
		return answerUnsent(c, doc, err)
	}
	defer d.Content.Close()
	_ = http.NewResponseController(c.Response()).SetWriteDeadline(time.Time{})
	hdr := c.Response().Header()
	hdr.Set("ETag", fmt.Sprintf("%q", d.Document.SHA256))
	hdr.Set("X-Checksum-Sha256", d.Document.SHA256)
	hdr.Set("Content-Type", d.Document.MediaType)
	hdr.Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", "document-"+d.Document.ID))
	// As for files: what checkDownload let through is a single satisfiable
	// range or none.
	http.ServeContent(largeCopyWriter{c.Response()}, req, "", time.Time{}, d.Content)
	return nil
}

func (h *Handlers) ListDocuments(ctx context.Context, req openapi.ListDocumentsRequestObject) (openapi.ListDocumentsResponseObject, error) {
	cs, err := h.comp()
	if err != nil {
		return nil, err
	}
	p := req.Params
	docs, next, err := cs.ListDocuments(ctx, compliance.ListDocumentsInput{Kind: string(deref(p.Kind)), PageSize: deref(p.PageSize), PageToken: deref(p.PageToken)})
	if err != nil {
		return nil, err
	}
	out := openapi.DocumentList{Documents: make([]openapi.Document, 0, len(docs)), NextPageToken: next}
	for _, d := range docs {
		out.Documents = append(out.Documents, toDocument(d))
	}
	return openapi.ListDocuments200JSONResponse{Body: out}, nil
}

func (h *Handlers) GetDocument(ctx context.Context, req openapi.GetDocumentRequestObject) (openapi.GetDocumentResponseObject, error) {
	cs, err := h.comp()
	if err != nil {
		return nil, err
	}
	d, err := cs.GetDocument(ctx, req.Id)
	if err != nil {
		return nil, err
	}
	return openapi.GetDocument200JSONResponse{Body: toDocument(d)}, nil
}

func (h *Handlers) SignOffDocument(ctx context.Context, req openapi.SignOffDocumentRequestObject) (openapi.SignOffDocumentResponseObject, error) {
	cs, err := h.comp()
	if err != nil {
		return nil, err
	}
	in := compliance.SignoffInput{DocumentID: req.Id}
	if b := req.Body; b != nil {
		in.Meaning, in.Comment = string(deref(b.Meaning)), deref(b.Comment)
	}
	so, err := cs.SignOff(ctx, in)
	if err != nil {
		return nil, err
	}
	return openapi.SignOffDocument201JSONResponse{Body: toSignoff(so)}, nil
}

// cardJSON is the answer of the card routes (openapi.yaml: Card).
type cardJSON struct {
	Model         string         `json:"model"`
	Version       int            `json:"version,omitempty"`
	Revision      int            `json:"revision"`
	ModelRevision int            `json:"model_revision,omitempty"`
	UpdatedBy     string         `json:"updated_by,omitempty"`
	UpdatedAt     *time.Time     `json:"updated_at,omitempty"`
	Card          modelcard.Card `json:"card"`
}

func toCardJSON(c compliance.Card) cardJSON {
	out := cardJSON{Model: c.Ref.Model, Version: c.Ref.Version, Revision: c.Revision, ModelRevision: c.ModelRevision,
		UpdatedBy: c.UpdatedBy, Card: c.Card}
	if !c.UpdatedAt.IsZero() {
		at := c.UpdatedAt
		out.UpdatedAt = &at
	}
	return out
}

// cardRef reads a card route's model and version (0 on the model's
// route).
func cardRef(c echo.Context) (compliance.CardRef, error) {
	ref := compliance.CardRef{Model: c.Param("model")}
	if v := c.Param("version"); v != "" {
		n, ok := CanonicalInt(v)
		if !ok || n < 1 || n > modelkeep.MaxVersionNumber {
			return ref, modelkeep.Errorf(modelkeep.ErrInvalid, "version must be a number from 1 to %d, without sign or leading zero", modelkeep.MaxVersionNumber)
		}
		ref.Version = int(n)
	}
	return ref, nil
}

// GetCard handles GET of a model's and of a version's card: JSON, or a
// version's card rendered (format=markdown, html or huggingface).
func (h *Handlers) GetCard(c echo.Context) error {
	cs, err := h.comp()
	if err != nil {
		return err
	}
	ref, err := cardRef(c)
	if err != nil {
		return err
	}
	n := 0
	if s := c.QueryParam("revision"); s != "" {
		r, ok := CanonicalInt(s)
		if !ok || r < 1 || r > math.MaxInt32 {
			return modelkeep.Errorf(modelkeep.ErrInvalid, "revision must be a number from 1, without sign or leading zero")
		}
		n = int(r)
	}
	if format := c.QueryParam("format"); format != "" && format != "json" {
		r, err := cs.RenderCard(c.Request().Context(), ref, n, format)
		if err != nil {
			return err
		}
		if format == compliance.FormatHTML {
			return printable(c, r.Body)
		}
		return c.Blob(http.StatusOK, r.MediaType, r.Body)
	}
	card, err := cs.GetCard(c.Request().Context(), ref, n)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toCardJSON(card))
}

// PutCard handles PUT of a model's and of a version's card.
func (h *Handlers) PutCard(c echo.Context) error {
	cs, err := h.comp()
	if err != nil {
		return err
	}
	ref, err := cardRef(c)
	if err != nil {
		return err
	}
	card, err := modelcard.Decode(c.Request().Body)
	if err != nil {
		return modelkeep.Errorf(modelkeep.ErrInvalid, "%w", err)
	}
	ctx := c.Request().Context()
	if _, err := cs.PutCard(ctx, ref, card); err != nil {
		return err
	}
	stored, err := cs.GetCard(ctx, ref, 0)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toCardJSON(stored))
}

func toRevisions(revs []compliance.CardRevision) openapi.CardRevisionList {
	out := openapi.CardRevisionList{Revisions: make([]openapi.CardRevisionInfo, 0, len(revs))}
	for _, r := range revs {
		out.Revisions = append(out.Revisions, openapi.CardRevisionInfo{Revision: r.Revision, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt})
	}
	return out
}

func (h *Handlers) ListModelCardRevisions(ctx context.Context, req openapi.ListModelCardRevisionsRequestObject) (openapi.ListModelCardRevisionsResponseObject, error) {
	cs, err := h.comp()
	if err != nil {
		return nil, err
	}
	revs, err := cs.ListCardRevisions(ctx, compliance.CardRef{Model: req.Model})
	if err != nil {
		return nil, err
	}
	return openapi.ListModelCardRevisions200JSONResponse{Body: toRevisions(revs)}, nil
}

func (h *Handlers) ListVersionCardRevisions(ctx context.Context, req openapi.ListVersionCardRevisionsRequestObject) (openapi.ListVersionCardRevisionsResponseObject, error) {
	cs, err := h.comp()
	if err != nil {
		return nil, err
	}
	revs, err := cs.ListCardRevisions(ctx, compliance.CardRef{Model: req.Model, Version: req.Version})
	if err != nil {
		return nil, err
	}
	return openapi.ListVersionCardRevisions200JSONResponse{Body: toRevisions(revs)}, nil
}

func toExemption(e compliance.Exemption) openapi.Exemption {
	return openapi.Exemption{RowId: e.RowID, Version: e.Version, Justification: e.Justification, EnteredBy: e.EnteredBy,
		EnteredAt: e.EnteredAt, AuditEventId: e.AuditSeq}
}

func toExemptions(es []compliance.Exemption) openapi.ExemptionList {
	out := openapi.ExemptionList{NotApplicable: make([]openapi.Exemption, 0, len(es))}
	for _, e := range es {
		out.NotApplicable = append(out.NotApplicable, toExemption(e))
	}
	return out
}

func (h *Handlers) putExemption(ctx context.Context, model string, version int, row string, body *openapi.ExemptionInput) (openapi.Exemption, error) {
	cs, err := h.comp()
	if err != nil {
		return openapi.Exemption{}, err
	}
	e, err := cs.PutExemption(ctx, compliance.ExemptionInput{Model: model, Version: version, RowID: row, Justification: body.Justification})
	if err != nil {
		return openapi.Exemption{}, err
	}
	return toExemption(e), nil
}

func (h *Handlers) ListModelExemptions(ctx context.Context, req openapi.ListModelExemptionsRequestObject) (openapi.ListModelExemptionsResponseObject, error) {
	cs, err := h.comp()
	if err != nil {
		return nil, err
	}
	es, err := cs.ListExemptions(ctx, req.Model, 0)
	if err != nil {
		return nil, err
	}
	return openapi.ListModelExemptions200JSONResponse{Body: toExemptions(es)}, nil
}

func (h *Handlers) PutModelExemption(ctx context.Context, req openapi.PutModelExemptionRequestObject) (openapi.PutModelExemptionResponseObject, error) {
	e, err := h.putExemption(ctx, req.Model, 0, req.RowId, req.Body)
	if err != nil {
		return nil, err
	}
	return openapi.PutModelExemption200JSONResponse{Body: e}, nil
}

func (h *Handlers) DeleteModelExemption(ctx context.Context, req openapi.DeleteModelExemptionRequestObject) (openapi.DeleteModelExemptionResponseObject, error) {
	cs, err := h.comp()
	if err != nil {
		return nil, err
	}
	if err := cs.DeleteExemption(ctx, req.Model, 0, req.RowId); err != nil {
		return nil, err
	}
	return openapi.DeleteModelExemption204Response{}, nil
}

func (h *Handlers) ListVersionExemptions(ctx context.Context, req openapi.ListVersionExemptionsRequestObject) (openapi.ListVersionExemptionsResponseObject, error) {
	cs, err := h.comp()
	if err != nil {
		return nil, err
	}
	es, err := cs.ListExemptions(ctx, req.Model, req.Version)
	if err != nil {
		return nil, err
	}
	return openapi.ListVersionExemptions200JSONResponse{Body: toExemptions(es)}, nil
}

func (h *Handlers) PutVersionExemption(ctx context.Context, req openapi.PutVersionExemptionRequestObject) (openapi.PutVersionExemptionResponseObject, error) {
	e, err := h.putExemption(ctx, req.Model, req.Version, req.RowId, req.Body)
	if err != nil {
		return nil, err
	}
	return openapi.PutVersionExemption200JSONResponse{Body: e}, nil
}

func (h *Handlers) DeleteVersionExemption(ctx context.Context, req openapi.DeleteVersionExemptionRequestObject) (openapi.DeleteVersionExemptionResponseObject, error) {
	cs, err := h.comp()
	if err != nil {
		return nil, err
	}
	if err := cs.DeleteExemption(ctx, req.Model, req.Version, req.RowId); err != nil {
		return nil, err
	}
	return openapi.DeleteVersionExemption204Response{}, nil
}
