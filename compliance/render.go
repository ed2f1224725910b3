package compliance

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/modelcard"
)

// Card formats a version's card renders to, besides its JSON.
const (
	FormatMarkdown    = "markdown"
	FormatHTML        = "html"
	FormatHuggingFace = "huggingface"
)

// RenderedCard is a card rendered for people or for another tool.
type RenderedCard struct {
	MediaType string
	Body      []byte
}

// RenderCard renders a version's card (its latest revision, or revision n)
// with what the registry recorded about the version filled in: files,
// datasets, runs, metrics, approvals and deployments.
func (s *Service) RenderCard(ctx context.Context, ref CardRef, n int, format string) (RenderedCard, error) {
	if err := s.checkCardRef(ctx, ref, "getCard"); err != nil {
		return RenderedCard{}, err
	}
	render, mediaType, err := cardRenderer(format)
	if err != nil {
		return RenderedCard{}, err
	}
	if ref.Version == 0 {
		return RenderedCard{}, modelkeep.Errorf(modelkeep.ErrInvalid,
			"format %s renders a version's card (the model's card is rendered with each of its versions)", format)
	}
	if n < 0 {
		return RenderedCard{}, modelkeep.Errorf(modelkeep.ErrInvalid, "revision must be a number from 1")
	}
	v, err := s.store.GetVersion(ctx, ref.Model, ref.Version)
	if err != nil {
		return RenderedCard{}, err
	}
	g, err := s.gather(ctx, s.store, v, gathering{revision: n})
	if err != nil {
		return RenderedCard{}, err
	}
	return RenderedCard{MediaType: mediaType, Body: render(g.card, g.facts)}, nil
}

// cardRenderer names the renderer of a format and the media type it makes.
func cardRenderer(format string) (func(modelcard.Card, modelcard.Facts) []byte, string, error) {
	switch format {
	case FormatMarkdown:
		return modelcard.Markdown, "text/markdown; charset=utf-8", nil
	case FormatHTML:
		return modelcard.HTML, "text/html; charset=utf-8", nil
	case FormatHuggingFace:
		return modelcard.HuggingFace, "text/markdown; charset=utf-8", nil
	}
	return nil, "", modelkeep.Errorf(modelkeep.ErrInvalid, "format must be json, %s, %s or %s, not %q",
		FormatMarkdown, FormatHTML, FormatHuggingFace, format)
}

// CycloneDX answers a version's card as a CycloneDX 1.6 BOM, signed like
// the evidence pack (JSF, Ed25519) when the server has a key.
func (s *Service) CycloneDX(ctx context.Context, model string, version int) ([]byte, error) {
	if err := s.checkCardRef(ctx, CardRef{Model: model, Version: version}, "getCardCycloneDX"); err != nil {
		return nil, err
	}
	v, err := s.store.GetVersion(ctx, model, version)
	if err != nil {
		return nil, err
	}
	g, err := s.gather(ctx, s.store, v, gathering{})
	if err != nil {
		return nil, err
	}
	return s.bom(g.card, g.facts)
}

// ListEvidencePacks lists the packs archived for a version, newest first.
func (s *Service) ListEvidencePacks(ctx context.Context, model string, version int) ([]PackRecord, error) {
	if err := s.checkCardRef(ctx, CardRef{Model: model, Version: version}, "listEvidencePacks"); err != nil {
		return nil, err
	}
	if err := s.requireWholeLog(ctx, "listEvidencePacks", modelkeep.VersionResource(model, version)+"/evidence"); err != nil {
		return nil, err
	}
	if _, err := s.store.GetVersion(ctx, model, version); err != nil {
		return nil, err
	}
	return s.store.ListEvidencePacks(ctx, model, version)
}

// ReadEvidencePack reads an archived pack as it was sealed, checked
// against the SHA-256 recorded when it was archived: a pack that changed
// in the blob store is not handed out as evidence.
func (s *Service) ReadEvidencePack(ctx context.Context, id string) (PackRecord, []byte, error) {
	rec, err := s.store.GetEvidencePack(ctx, id)
	if err != nil {
		return PackRecord{}, nil, err
	}
	if err := s.requireWholeLog(ctx, "getEvidencePack", "evidence/packs/"+id); err != nil {
		return PackRecord{}, nil, err
	}
	rc, _, err := s.blobs.Open(ctx, rec.BlobKey)
	if err != nil {
		return PackRecord{}, nil, fmt.Errorf("open archived pack %s: %w", id, err)
	}
	defer rc.Close()
	file, err := io.ReadAll(io.LimitReader(rc, rec.Size+1))
	if err != nil {
		return PackRecord{}, nil, fmt.Errorf("read archived pack %s: %w", id, err)
	}
	if sum := sha256.Sum256(file); hex.EncodeToString(sum[:]) != rec.SHA256 || int64(len(file)) != rec.Size {
		s.logger.ErrorContext(ctx, "an archived evidence pack does not match its recorded digest", "pack", id, "key", rec.BlobKey)
		return PackRecord{}, nil, modelkeep.Errorf(modelkeep.ErrUnavailable,
			"the archived pack %s does not match the SHA-256 recorded when it was archived: the blob store changed it", id)
	}
	return rec, file, nil
}
