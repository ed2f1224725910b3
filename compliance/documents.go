package compliance

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"mime"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/modelcard"
)

// Limits on a document's description.
const (
	MaxTitleLen     = 512
	MaxDocVersion   = 128
	MaxMediaTypeLen = 255
	MaxCommentLen   = 4096
)

// DocumentInput is one document upload.
type DocumentInput struct {
	Kind      string
	Title     string
	Version   string
	MediaType string // "" is application/octet-stream
	Body      io.Reader
	// Size is the body's length, or -1 when unknown.
	Size int64
	// ExpectedSHA256, when set, must match the body's digest (else 422 and
	// nothing is kept).
	ExpectedSHA256 string
}

func (in *DocumentInput) validate() error {
	switch {
	case !slices.Contains(DocumentKinds, in.Kind):
		return modelkeep.Errorf(modelkeep.ErrInvalid, "kind %q: want one of %s", in.Kind, strings.Join(DocumentKinds, ", "))
	case strings.TrimSpace(in.Title) == "" || len(in.Title) > MaxTitleLen || !utf8.ValidString(in.Title):
		return modelkeep.Errorf(modelkeep.ErrInvalid, "title: 1 to %d bytes of UTF-8 text", MaxTitleLen)
	case modelcard.IsPlaceholder(in.Title):
		return modelkeep.Errorf(modelkeep.ErrInvalid, "title %q is a placeholder, not a title", in.Title)
	case in.Version == "" || len(in.Version) > MaxDocVersion || !utf8.ValidString(in.Version):
		return modelkeep.Errorf(modelkeep.ErrInvalid, "version: the document's own version, 1 to %d bytes (e.g. 2.1)", MaxDocVersion)
	}
	if in.MediaType == "" {
		in.MediaType = "application/octet-stream"
	}
	if _, _, err := mime.ParseMediaType(in.MediaType); err != nil || len(in.MediaType) > MaxMediaTypeLen {
		return modelkeep.Errorf(modelkeep.ErrInvalid, "media type %q is not a valid media type", in.MediaType)
	}
	return nil
}

func documentResource(id string) string { return "documents/" + id }

// hashingReader computes the SHA-256 of what passes through it.
type hashingReader struct {
	r io.Reader
	h hash.Hash
}

func (hr *hashingReader) Read(p []byte) (int, error) {
	n, err := hr.r.Read(p)
	hr.h.Write(p[:n])
	return n, err
}

// AddDocument streams a document into the blob store and records it. The
// server computes the SHA-256 (and checks the one the client sent); a
// document is identified by its content: uploading the same bytes again
// with the same kind, title and version returns the stored document
// (created false), with another description it is ErrConflict.
func (s *Service) AddDocument(ctx context.Context, in DocumentInput) (Document, bool, error) {
	if err := in.validate(); err != nil {
		return Document{}, false, err
	}
	expected := ""
	if in.ExpectedSHA256 != "" {
		var err error
		if expected, err = modelkeep.ParseSHA256(in.ExpectedSHA256); err != nil {
			return Document{}, false, err
		}
	}
	id := newID()
	key := "documents/" + id
	hr := &hashingReader{r: in.Body, h: sha256.New()}
	info, err := s.blobs.Put(ctx, key, hr, in.Size)
	if err != nil {
		s.deleteBlob(key)
		switch modelkeep.KindOf(err) {
		case modelkeep.ErrTooLarge, modelkeep.ErrInvalid:
			return Document{}, false, err
		}
		return Document{}, false, fmt.Errorf("store document: %w", err)
	}
	sum := hex.EncodeToString(hr.h.Sum(nil))
	if expected != "" && sum != expected {
		s.deleteBlob(key)
		return Document{}, false, modelkeep.Errorf(modelkeep.ErrDigestMismatch, "checksum mismatch: got sha256 %s, X-Checksum-Sha256 says %s", sum, expected)
	}
	d := Document{ID: id, SHA256: sum, Kind: in.Kind, Title: in.Title, Version: in.Version, MediaType: in.MediaType,
		Size: info.Size, BlobKey: key, CreatedBy: modelkeep.ActorName(ctx), CreatedAt: s.clock()}
	var out Document
	created := false
	err = s.store.InComplianceTx(ctx, func(tx Store) error {
		existing, err := tx.GetDocumentBySHA256(ctx, sum)
		if err == nil {
			if existing.Kind != d.Kind || existing.Title != d.Title || existing.Version != d.Version {
				return modelkeep.Errorf(modelkeep.ErrConflict, "this content is document %s already (%s %q version %s): a document is its content",
					existing.ID, existing.Kind, existing.Title, existing.Version)
			}
			out = existing
			return nil
		}
		if !errors.Is(err, modelkeep.ErrNotFound) {
			return err
		}
		if err := tx.CreateDocument(ctx, d); err != nil {
			return err
		}
		out, created = d, true
		err = s.log.RecordChange(ctx, tx, "document.upload", documentResource(d.ID), map[string]any{
			"sha256": d.SHA256, "size": d.Size, "kind": d.Kind, "title": d.Title, "version": d.Version, "media_type": d.MediaType})
		return err
	})
	if err != nil || !created {
		s.deleteBlob(key) // a failed record, or content stored already
	}
	if err != nil {
		return Document{}, false, err
	}
	so, err := s.store.Signoffs(ctx, out.ID)
	if err != nil {
		return Document{}, false, err
	}
	out.Signoffs = so[out.ID]
	return out, created, nil
}

// deleteBlob removes a blob no record references; failures are logged and
// left to the orphan sweep.
func (s *Service) deleteBlob(key string) {
	ctx, cancel := context.WithTimeout(context.Background(), deleteTimeout)
	defer cancel()
	if err := s.blobs.Delete(ctx, key); err != nil {
		s.logger.Warn("delete unreferenced blob; the orphan sweep will retry", "key", key, "err", err)
	}
}

// GetDocument reads a document with its sign-offs.
func (s *Service) GetDocument(ctx context.Context, id string) (Document, error) {
	if err := validateID(id); err != nil {
		return Document{}, err
	}
	d, err := s.store.GetDocument(ctx, id)
	if err != nil {
		return Document{}, err
	}
	so, err := s.store.Signoffs(ctx, id)
	if err != nil {
		return Document{}, err
	}
	d.Signoffs = so[id]
	return d, nil
}

// ListDocumentsInput selects and pages documents.
type ListDocumentsInput struct {
	Kind      string
	PageSize  int
	PageToken string
}

// ListDocuments lists documents, newest first, with their sign-offs.
func (s *Service) ListDocuments(ctx context.Context, in ListDocumentsInput) ([]Document, string, error) {
	if in.Kind != "" && !slices.Contains(DocumentKinds, in.Kind) {
		return nil, "", modelkeep.Errorf(modelkeep.ErrInvalid, "kind %q: want one of %s", in.Kind, strings.Join(DocumentKinds, ", "))
	}
	page, err := s.pager.StartTimedPage(modelkeep.NewListing("listDocuments", in.Kind), in.PageSize, in.PageToken)
	if err != nil {
		return nil, "", err
	}
	docs, err := s.store.ListDocuments(ctx, DocumentFilter{Kind: in.Kind, BeforeCreatedAt: page.Before, BeforeID: page.BeforeID, Limit: page.Limit + 1})
	if err != nil {
		return nil, "", err
	}
	docs, next := modelkeep.EndTimedPage(page, docs, func(d Document) (string, time.Time) { return d.ID, d.CreatedAt })
	ids := make([]string, len(docs))
	for i, d := range docs {
		ids[i] = d.ID
	}
	so, err := s.store.Signoffs(ctx, ids...)
	if err != nil {
		return nil, "", err
	}
	for i := range docs {
		docs[i].Signoffs = so[docs[i].ID]
	}
	return docs, next, nil
}

// DocumentContent is a document on its way to a client. The caller closes
// Content.
type DocumentContent struct {
	Document Document
	Content  io.ReadSeekCloser
}

// OpenDocument records the download in the audit log and opens the bytes.
// check, when not nil, runs once the document is known and before anything
// is recorded: an error from it ends the download, unrecorded, and is
// returned as is (the HTTP layer answers conditional and range requests
// there: 304, 412 and 416 move no bytes, so they are not downloads).
func (s *Service) OpenDocument(ctx context.Context, id string, check func(Document) error) (DocumentContent, error) {
	if err := validateID(id); err != nil {
		return DocumentContent{}, err
	}
	var d Document
	err := s.store.InComplianceTx(ctx, func(tx Store) error {
		var err error
		if d, err = tx.GetDocument(ctx, id); err != nil {
			return err
		}
		if check != nil {
			if err := check(d); err != nil {
				return err
			}
		}
		err = s.log.RecordChange(ctx, tx, "document.download", documentResource(id), map[string]any{"sha256": d.SHA256, "size": d.Size})
		return err
	})
	if err != nil {
		return DocumentContent{}, err
	}
	rc, _, err := s.blobs.Open(ctx, d.BlobKey)
	if err != nil {
		if errors.Is(err, modelkeep.ErrNotFound) {
			return DocumentContent{}, fmt.Errorf("the bytes of document %s are missing: %w", id, modelkeep.ErrUnavailable)
		}
		return DocumentContent{}, fmt.Errorf("open document %s: %w", id, err)
	}
	return DocumentContent{Document: d, Content: rc}, nil
}

// SignoffInput is a person's sign-off of a document.
type SignoffInput struct {
	DocumentID string
	Meaning    string // "" is approved
	Comment    string
}

// SignOff records the caller's sign-off of a document: the server signs
// {sha256, signer, signed_at} with its key, so that the sign-off verifies
// offline, and records it in the audit log. A person signs a document
// once.
func (s *Service) SignOff(ctx context.Context, in SignoffInput) (Signoff, error) {
	if err := validateID(in.DocumentID); err != nil {
		return Signoff{}, err
	}
	if in.Meaning == "" {
		in.Meaning = "approved"
	}
	switch {
	case !slices.Contains(SignoffMeanings, in.Meaning):
		return Signoff{}, modelkeep.Errorf(modelkeep.ErrInvalid, "meaning %q: want one of %s", in.Meaning, strings.Join(SignoffMeanings, ", "))
	case len(in.Comment) > MaxCommentLen || !utf8.ValidString(in.Comment):
		return Signoff{}, modelkeep.Errorf(modelkeep.ErrInvalid, "comment: at most %d bytes of UTF-8 text", MaxCommentLen)
	case s.signer == nil:
		return Signoff{}, modelkeep.Errorf(modelkeep.ErrPrecondition, "this server has no signing key")
	}
	var out Signoff
	err := s.store.InComplianceTx(ctx, func(tx Store) error {
		d, err := tx.GetDocument(ctx, in.DocumentID)
		if err != nil {
			return err
		}
		so := Signoff{DocumentID: d.ID, SHA256: d.SHA256, Signer: modelkeep.ActorName(ctx), SignedAt: s.clock(),
			Meaning: in.Meaning, Comment: in.Comment, KeyID: s.signer.KeyID()}
		so.Signature = s.signer.Sign(SignoffMessage(so.SHA256, so.Signer, so.SignedAt))
		if err := tx.AddSignoff(ctx, so); err != nil {
			return err
		}
		out = so
		err = s.log.RecordChange(ctx, tx, "document.signoff", documentResource(d.ID), map[string]any{
			"sha256": so.SHA256, "signer": so.Signer, "signed_at": auditTime(so.SignedAt), "meaning": so.Meaning,
			"key_id": so.KeyID, "signature": base64Std(so.Signature)})
		return err
	})
	return out, err
}

// CheckDocumentIDs checks that each named id (field, id pairs; empty ids
// are skipped) is a registered document: a run's test log and report.
func (s *Service) CheckDocumentIDs(ctx context.Context, fieldsAndIDs ...string) error {
	for i := 0; i+1 < len(fieldsAndIDs); i += 2 {
		field, id := fieldsAndIDs[i], fieldsAndIDs[i+1]
		if id == "" {
			continue
		}
		if err := validateID(id); err != nil {
			return modelkeep.Errorf(modelkeep.ErrInvalid, "%s: %w", field, err)
		}
		if _, err := s.store.GetDocument(ctx, id); errors.Is(err, modelkeep.ErrNotFound) {
			return modelkeep.Errorf(modelkeep.ErrInvalid, "%s: document %s is not registered (POST /api/v1/documents)", field, id)
		} else if err != nil {
			return err
		}
	}
	return nil
}
