package api

import (
	"context"

	"github.com/labstack/echo/v4"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/api/openapi"
)

// filePathRoute is the Echo route of the byte routes; '*' takes the
// file path, slashes included.
const filePathRoute = "/api/v1/models/:model/versions/:version/files/*"

// IsStreamingRoute reports whether an Echo route streams for as long as the
// client takes: artifact uploads and downloads, and the audit export. The
// server's admission line does not count them.
func IsStreamingRoute(route string) bool {
	return isByteRoute(route) || route == auditExportRoute || route == documentContentRoute || route == uploadPartRoute
}

// Register binds every /api/v1 operation: the generated strict handlers and
// the byte routes. The generated handlers get their JSON bodies from
// jsonBinder: the value the strict decoder read and the validator checked.
func Register(e *echo.Echo, h *Handlers) {
	e.Binder = jsonBinder{}
	openapi.RegisterHandlers(e, openapi.NewStrictHandler(h, nil))
	e.PUT(filePathRoute, h.UploadFile)
	e.GET(filePathRoute, h.DownloadFile)
	e.HEAD(filePathRoute, h.HeadFile)
	e.DELETE(filePathRoute, h.DeleteFile)
	e.PUT(uploadPartRoute, h.UploadPart)
	e.GET(auditExportRoute, h.ExportAudit)
	e.POST(documentsRoute, h.UploadDocument)
	e.GET(documentContentRoute, h.DownloadDocument)
	e.GET(cycloneDXRoute, h.GetCardCycloneDX)
	e.GET(evidenceRoute, h.ExportEvidence)
	e.GET(evidencePackRoute, h.DownloadEvidencePack)
	for _, route := range []string{modelCardRoute, versionCardRoute} {
		e.GET(route, h.GetCard)
		e.PUT(route, h.PutCard)
	}
}

// RequestContext puts the request id and the client address into the
// request's context, where the domain records them in audit events, and
// whether the request came over TLS (for the cookies' Secure attribute).
func RequestContext() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			// Both may come from the client (X-Request-ID, X-Forwarded-For):
			// bound them so an audit row can always hold them.
			ri := modelkeep.RequestInfo{
				RequestID:  truncate(c.Response().Header().Get(echo.HeaderXRequestID), 128),
				RemoteAddr: truncate(c.RealIP(), 64),
			}
			ctx := modelkeep.WithRequestInfo(req.Context(), ri)
			ctx = context.WithValue(ctx, tlsKey{}, req.TLS != nil)
			c.SetRequest(req.WithContext(ctx))
			return next(c)
		}
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
