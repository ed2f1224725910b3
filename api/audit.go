package api

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/modelkeep/modelkeep/audit"

	"github.com/labstack/echo/v4"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/api/openapi"
)

// auditExportRoute is the export's Echo route: bound by hand because the
// body streams (see Register).
const auditExportRoute = "/api/v1/audit/export"

func toAuditEvent(e audit.Event) openapi.AuditEvent {
	details := e.Details
	if len(details) == 0 {
		details = []byte("{}")
	}
	return openapi.AuditEvent{
		Seq: e.Seq, Time: audit.FormatTime(e.Time), Actor: e.Actor, Action: e.Action, Resource: e.Resource,
		Outcome: openapi.AuditEventOutcome(e.Outcome), RequestId: e.RequestID, RemoteAddr: e.RemoteAddr,
		Details: details, PrevHash: e.PrevHash, Hash: e.Hash,
	}
}

func toAuditCheckpoint(c audit.Checkpoint) openapi.AuditCheckpoint {
	return openapi.AuditCheckpoint{
		Seq: c.Seq, Hash: c.Hash, Time: audit.FormatTime(c.Time), Kind: openapi.AuditCheckpointKind(c.Kind),
		KeyId: c.KeyID, Signature: c.Signature,
	}
}

func (h *Handlers) ListAuditEvents(ctx context.Context, req openapi.ListAuditEventsRequestObject) (openapi.ListAuditEventsResponseObject, error) {
	p := req.Params
	in := modelkeep.ListAuditInput{
		Actor: deref(p.Actor), Action: deref(p.Action), Resource: deref(p.Resource), Outcome: string(deref(p.Outcome)),
		Ascending: deref(p.Order) == openapi.Asc, PageSize: deref(p.PageSize), PageToken: deref(p.PageToken),
	}
	if p.Since != nil {
		in.Since = *p.Since
	}
	if p.Until != nil {
		in.Until = *p.Until
	}
	events, next, err := h.svc.ListAuditEvents(ctx, in)
	if err != nil {
		return nil, err
	}
	out := openapi.AuditEventList{Events: make([]openapi.AuditEvent, 0, len(events)), NextPageToken: next}
	for _, e := range events {
		out.Events = append(out.Events, toAuditEvent(e))
	}
	return openapi.ListAuditEvents200JSONResponse{Body: out}, nil
}

func (h *Handlers) GetAuditEvent(ctx context.Context, req openapi.GetAuditEventRequestObject) (openapi.GetAuditEventResponseObject, error) {
	e, err := h.svc.AuditEvent(ctx, req.Seq)
	if err != nil {
		return nil, err
	}
	return openapi.GetAuditEvent200JSONResponse{Body: toAuditEvent(e)}, nil
}

func (h *Handlers) VerifyAudit(ctx context.Context, req openapi.VerifyAuditRequestObject) (openapi.VerifyAuditResponseObject, error) {
	res, err := h.svc.VerifyAudit(ctx, deref(req.Params.SinceSeq))
	if err != nil {
		return nil, err
	}
	out := openapi.AuditVerification{
		Ok: res.OK, Events: res.Events, Head: res.Head, HeadSeq: res.HeadSeq,
		CheckpointsVerified: res.CheckpointsVerified, CheckpointsUnverified: res.CheckpointsUnverified,
		Pending: &res.Pending,
	}
	if res.Events > 0 {
		out.FirstSeq, out.LastSeq = &res.FirstSeq, &res.LastSeq
	}
	if !res.OK {
		out.FirstBrokenSeq, out.Reason = &res.FirstBrokenSeq, &res.Reason
	}
	if c := res.LatestCheckpoint; c != nil {
		cp := toAuditCheckpoint(*c)
		out.LatestCheckpoint = &cp
	}
	return openapi.VerifyAudit200JSONResponse{Body: out}, nil
}

func (h *Handlers) ListAuditCheckpoints(ctx context.Context, req openapi.ListAuditCheckpointsRequestObject) (openapi.ListAuditCheckpointsResponseObject, error) {
	cps, next, err := h.svc.ListAuditCheckpoints(ctx, deref(req.Params.PageSize), deref(req.Params.PageToken))
	if err != nil {
		return nil, err
	}
	out := openapi.AuditCheckpointList{Checkpoints: make([]openapi.AuditCheckpoint, 0, len(cps)), NextPageToken: next}
	for _, c := range cps {
		out.Checkpoints = append(out.Checkpoints, toAuditCheckpoint(c))
	}
	if id, pem, ok := h.svc.AuditPublicKey(); ok {
		out.KeyId, out.PublicKey = &id, &pem
	}
	return openapi.ListAuditCheckpoints200JSONResponse{Body: out}, nil
}

func (h *Handlers) CreateAuditCheckpoint(ctx context.Context, _ openapi.CreateAuditCheckpointRequestObject) (openapi.CreateAuditCheckpointResponseObject, error) {
	c, err := h.svc.CreateAuditCheckpoint(ctx)
	if err != nil {
		return nil, err
	}
	return openapi.CreateAuditCheckpoint201JSONResponse{Body: toAuditCheckpoint(c)}, nil
}

// ExportAudit handles GET /api/v1/audit/export: the export streams, so it
// is bound by hand and writes through a buffer straight to the client.
// Errors before the first byte get their status; after it they can only be
// logged, and the missing seal makes the cut file fail verification.
func (h *Handlers) ExportAudit(c echo.Context) error {
	req := c.Request()
	ctx := req.Context()
	x, err := h.svc.ExportAudit(ctx, c.QueryParam("format"))
	if err != nil {
		return err
	}
	// A million events take a while on a slow link.
	_ = http.NewResponseController(c.Response()).SetWriteDeadline(time.Time{})
	hdr := c.Response().Header()
	hdr.Set(echo.HeaderContentType, x.ContentType())
	hdr.Set(echo.HeaderContentDisposition, fmt.Sprintf("attachment; filename=%q", x.FileName()))
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Audit-Pending", strconv.FormatInt(x.Pending, 10))
	c.Response().WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(c.Response(), 64<<10)
	err = x.WriteTo(ctx, bw)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		if errors.Is(err, context.Canceled) || ctx.Err() != nil {
			h.logger.InfoContext(ctx, "audit export stopped: the client went away")
			return nil
		}
		return fmt.Errorf("stream audit export: %w", err)
	}
	return nil
}
