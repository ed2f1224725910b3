package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/api/openapi"
	"github.com/modelkeep/modelkeep/compliance"
	"github.com/modelkeep/modelkeep/evidence"
)

// The evidence routes bound by hand: the pack, its archive and the BOM are
// sealed bytes, answered exactly as they were signed.
const (
	cycloneDXRoute    = "/api/v1/models/:model/versions/:version/card/cyclonedx"
	evidenceRoute     = "/api/v1/models/:model/versions/:version/evidence"
	evidencePackRoute = "/api/v1/evidence/packs/:id"
)

// versionParams reads a version route's model and version number.
func versionParams(c echo.Context) (string, int, error) {
	ref, err := cardRef(c)
	return ref.Model, ref.Version, err
}

// GetCardCycloneDX handles GET .../card/cyclonedx.
func (h *Handlers) GetCardCycloneDX(c echo.Context) error {
	cs, err := h.comp()
	if err != nil {
		return err
	}
	model, version, err := versionParams(c)
	if err != nil {
		return err
	}
	bom, err := cs.CycloneDX(c.Request().Context(), model, version)
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "application/vnd.cyclonedx+json", bom)
}

// ExportEvidence handles GET .../evidence: every call seals, archives and
// records a new pack; format=html answers it as a page.
func (h *Handlers) ExportEvidence(c echo.Context) error {
	cs, err := h.comp()
	if err != nil {
		return err
	}
	model, version, err := versionParams(c)
	if err != nil {
		return err
	}
	format := c.QueryParam("format")
	if format != "" && format != "json" && format != "html" {
		return modelkeep.Errorf(modelkeep.ErrInvalid, "format must be json or html, not %q", format)
	}
	pf, err := cs.ExportEvidence(c.Request().Context(), model, version)
	if err != nil {
		return err
	}
	hdr := c.Response().Header()
	hdr.Set("X-Evidence-Pack-Id", pf.Record.ID)
	if format == "html" {
		return printable(c, evidence.HTML(pf.Pack, evidence.MustLoad()))
	}
	hdr.Set("X-Checksum-Sha256", pf.Record.SHA256)
	hdr.Set("Content-Disposition", fmt.Sprintf("inline; filename=%q", packFileName(pf.Record)))
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, pf.Bytes)
}

// printableCSP is the policy of the printable pages (a rendered card, an
// evidence pack as HTML): their own inline styles and nothing else, no
// script at all, framed only by this origin's web UI.
const printableCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"

// printable answers a printable HTML page under its own policy.
func printable(c echo.Context, page []byte) error {
	c.Response().Header().Set("Content-Security-Policy", printableCSP)
	return c.HTMLBlob(http.StatusOK, page)
}

// packFileName is the name an archived pack is saved under.
func packFileName(r compliance.PackRecord) string {
	return fmt.Sprintf("evidence-%s-v%d-%s.json", r.Model, r.Version, r.ID)
}

// DownloadEvidencePack handles GET /api/v1/evidence/packs/{id}.
func (h *Handlers) DownloadEvidencePack(c echo.Context) error {
	cs, err := h.comp()
	if err != nil {
		return err
	}
	rec, file, err := cs.ReadEvidencePack(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	hdr := c.Response().Header()
	hdr.Set("ETag", strconv.Quote(rec.SHA256))
	hdr.Set("X-Checksum-Sha256", rec.SHA256)
	hdr.Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", packFileName(rec)))
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, file)
}

func (h *Handlers) GetEvidenceCoverage(ctx context.Context, req openapi.GetEvidenceCoverageRequestObject) (openapi.GetEvidenceCoverageResponseObject, error) {
	cs, err := h.comp()
	if err != nil {
		return nil, err
	}
	p, err := cs.EvidenceCoverage(ctx, req.Model, req.Version)
	if err != nil {
		return nil, err
	}
	out := openapi.EvidenceCoverage{Model: req.Model, Version: req.Version, RiskClass: p.Export.RiskClass,
		RequirementsCatalogue: p.Export.RequirementsCatalogue, RequirementsCatalogueVersion: p.Export.RequirementsCatalogueVersion,
		Summary: toCoverageSummary(p.Summary), Coverage: make([]openapi.CoverageItem, 0, len(p.Coverage))}
	cat := evidence.MustLoad()
	for _, it := range p.Coverage {
		row, _ := cat.Row(it.RowID)
		out.Coverage = append(out.Coverage, openapi.CoverageItem{RowId: it.RowID, Status: openapi.CoverageItemStatus(it.Status),
			EvidencePaths: nonNil(it.EvidencePaths), Missing: optSlice(it.Missing), PostMarket: optBool(it.PostMarket), Note: optString(it.Note),
			Section: optString(row.Section), Requirement: optString(row.Requirement)})
	}
	return openapi.GetEvidenceCoverage200JSONResponse{Body: out}, nil
}

func toCoverageSummary(s evidence.CoverageSummary) openapi.CoverageSummary {
	return openapi.CoverageSummary{Applicable: s.Applicable, Present: s.Present, Missing: s.Missing, NotApplicable: s.NotApplicable,
		MissingRows: nonNil(s.MissingRows)}
}

func (h *Handlers) ListEvidencePacks(ctx context.Context, req openapi.ListEvidencePacksRequestObject) (openapi.ListEvidencePacksResponseObject, error) {
	cs, err := h.comp()
	if err != nil {
		return nil, err
	}
	recs, err := cs.ListEvidencePacks(ctx, req.Model, req.Version)
	if err != nil {
		return nil, err
	}
	out := openapi.EvidencePackList{Packs: make([]openapi.EvidencePackRecord, 0, len(recs))}
	for _, r := range recs {
		rec := openapi.EvidencePackRecord{Id: r.ID, Model: r.Model, Version: r.Version, Sha256: r.SHA256, Size: r.Size,
			ObjectLockMode: r.LockMode, GeneratedBy: r.GeneratedBy, GeneratedAt: r.GeneratedAt, Uri: "/api/v1/evidence/packs/" + r.ID}
		if r.RetainUntil != nil {
			at := r.RetainUntil.UTC()
			rec.RetainUntil = &at
		}
		out.Packs = append(out.Packs, rec)
	}
	return openapi.ListEvidencePacks200JSONResponse{Body: out}, nil
}
