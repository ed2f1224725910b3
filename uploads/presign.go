package uploads

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/modelkeep/modelkeep"
)

// MaxPresignParts bounds the parts one PresignParts call signs: a client
// asks for the URLs of the parts it is about to send, not of a whole
// 10,000-part file at once (the URLs expire).
const MaxPresignParts = 100

// PartChecksum names a part to presign and the checksum its bytes must
// have: the CRC32C (hex) for a session whose PartChecksum is
// modelkeep.ChecksumCRC32C, the SHA-256 for one of modelkeep.ChecksumSHA256.
type PartChecksum struct {
	Number int
	SHA256 string
	CRC32C string
}

// PresignInput asks for presigned requests of parts of a session.
type PresignInput struct {
	Model   string
	Version int
	ID      string
	Parts   []PartChecksum
}

// PresignedPart is the request that stores one part straight in the blob
// store.
type PresignedPart struct {
	Number  int
	Size    int64
	Request modelkeep.PresignedRequest
}

var errNoPresign = modelkeep.Errorf(modelkeep.ErrConflict,
	"this server's blob store takes no parts straight from clients: send them through PUT .../parts/{part_number}")

// PresignParts returns, for parts of an open session, requests that store
// them straight in the blob store (S3 presigned UploadPart URLs), so that
// their bytes do not pass through the server. Each request is signed with
// the part's exact size and SHA-256: the store refuses other bytes, so what
// it holds for a part is what the client hashed. The server sees none of
// those bytes; completion reads the file back to verify it. A presign is
// activity: it moves the session's expiry, as a part does. Parts are not
// audited one by one (the completion is); neither are their URLs.
func (s *Service) PresignParts(ctx context.Context, in PresignInput) ([]PresignedPart, error) {
	if err := validateRef(in.Model, in.Version); err != nil {
		return nil, err
	}
	if err := validateID(in.ID); err != nil {
		return nil, err
	}
	if s.pp == nil {
		return nil, errNoPresign
	}
	if err := checkPresignList(in.Parts); err != nil {
		return nil, err
	}
	u, err := s.store.GetUpload(ctx, in.Model, in.Version, in.ID)
	if err != nil {
		return nil, err
	}
	if u.Status != StatusOpen {
		return nil, modelkeep.Errorf(modelkeep.ErrConflict, "upload %s is %s: it takes no more parts", u.ID, u.Status)
	}
	sums := make([]modelkeep.PartChecksum, len(in.Parts))
	for i, p := range in.Parts {
		if p.Number > u.PartCount() {
			return nil, modelkeep.Errorf(modelkeep.ErrInvalid, "part number %d: this upload has parts 1 to %d", p.Number, u.PartCount())
		}
		if sums[i], err = signedChecksum(u, p); err != nil {
			return nil, fmt.Errorf("part %d: %w", p.Number, err)
		}
	}
	now := s.clock()
	// The mark locks the session's row (in a transaction of the store's),
	// so it lands before a completion claims the session (which then
	// reads it back from the blob store) or not at all.
	err = s.store.MarkUploadPresigned(ctx, u.ID, now, now.Add(s.opts.Expiry))
	if err != nil {
		if errors.Is(err, modelkeep.ErrConflict) {
			return nil, modelkeep.Errorf(modelkeep.ErrConflict, "upload %s is no longer open", u.ID)
		}
		return nil, err
	}
	out := make([]PresignedPart, len(in.Parts))
	for i, p := range in.Parts {
		size := u.PartSizeOf(p.Number)
		req, err := s.pp.PresignPart(ctx, u.BlobKey, u.StoreUploadID, p.Number, size, sums[i], s.opts.PresignTTL)
		if err != nil {
			return nil, fmt.Errorf("presign part %d of upload %s: %w", p.Number, u.ID, err)
		}
		out[i] = PresignedPart{Number: p.Number, Size: size, Request: req}
	}
	return out, nil
}

// signedChecksum is the checksum part p's request is signed with: the one
// of the session's algorithm, which the client must give.
func signedChecksum(u Upload, p PartChecksum) (modelkeep.PartChecksum, error) {
	if u.PartChecksum == modelkeep.ChecksumCRC32C {
		if p.CRC32C == "" {
			// A conflict, not bad input: a client from before CRC32C asks
			// with the SHA-256 alone, and takes a 409 as "send the part
			// through the server", which it can.
			return modelkeep.PartChecksum{}, modelkeep.Errorf(modelkeep.ErrConflict, "this session's parts are signed with their CRC32C (part_checksum crc32c): give crc32c, or send the part through PUT .../parts/{part_number}")
		}
		sum, err := parseCRC32C(p.CRC32C)
		return modelkeep.PartChecksum{Algorithm: modelkeep.ChecksumCRC32C, Hex: sum}, err
	}
	if p.SHA256 == "" {
		return modelkeep.PartChecksum{}, modelkeep.Errorf(modelkeep.ErrInvalid, "this session's parts are signed with their SHA-256 (part_checksum sha256): give sha256")
	}
	sum, err := modelkeep.ParseSHA256(p.SHA256)
	return modelkeep.PartChecksum{Algorithm: modelkeep.ChecksumSHA256, Hex: sum}, err
}

// parseCRC32C checks a hex CRC32C (8 hex digits, any case) and returns it
// in lower case.
func parseCRC32C(s string) (string, error) {
	if len(s) != 8 {
		return "", modelkeep.Errorf(modelkeep.ErrInvalid, "crc32c %q is not 8 hex digits", s)
	}
	if _, err := hex.DecodeString(s); err != nil {
		return "", modelkeep.Errorf(modelkeep.ErrInvalid, "crc32c %q is not 8 hex digits", s)
	}
	return strings.ToLower(s), nil
}

// checkPresignList refuses an empty or too long list, part numbers out of
// S3's range and a part named twice.
func checkPresignList(parts []PartChecksum) error {
	if len(parts) == 0 || len(parts) > MaxPresignParts {
		return modelkeep.Errorf(modelkeep.ErrInvalid, "ask for 1 to %d parts at a time, not %d", MaxPresignParts, len(parts))
	}
	seen := make(map[int]bool, len(parts))
	for _, p := range parts {
		if p.Number < 1 || p.Number > modelkeep.MaxParts {
			return modelkeep.Errorf(modelkeep.ErrInvalid, "part number %d: part numbers run from 1 to %d", p.Number, modelkeep.MaxParts)
		}
		if seen[p.Number] {
			return modelkeep.Errorf(modelkeep.ErrInvalid, "part %d is named twice", p.Number)
		}
		seen[p.Number] = true
	}
	return nil
}

// parts returns a live session's parts, and the parts as the blob store
// holds them (what its completion joins). Where parts may go straight to
// the store, the store's listing is the truth (the server recorded only the
// parts that passed through it); elsewhere the recorded rows are.
func (s *Service) parts(ctx context.Context, u Upload) ([]Part, []modelkeep.Part, error) {
	rows, err := s.store.ListUploadParts(ctx, u.ID)
	if err != nil {
		return nil, nil, err
	}
	if s.pp == nil {
		stored := make([]modelkeep.Part, len(rows))
		for i, p := range rows {
			stored[i] = modelkeep.Part{Number: p.Number, Size: p.Size, ETag: p.ETag}
		}
		return rows, stored, nil
	}
	stored, err := s.pp.ListParts(ctx, u.BlobKey, u.StoreUploadID)
	if err != nil {
		return nil, nil, fmt.Errorf("list the stored parts of upload %s: %w", u.ID, err)
	}
	return reconcile(rows, stored), stored, nil
}

// reconcile merges the parts a blob store holds with the rows the server
// recorded for the parts that passed through it. The store says which
// parts exist and what they hold; a row adds what only the server knows
// (the whole file's hash state after the part, section 2 of
// docs/uploads.md) when it names the same bytes: the same ETag, size and,
// where the store keeps one, SHA-256. A part sent through the server and
// then again straight to the store keeps no stale state.
func reconcile(rows []Part, stored []modelkeep.Part) []Part {
	byNumber := make(map[int]Part, len(rows))
	for _, r := range rows {
		byNumber[r.Number] = r
	}
	out := make([]Part, 0, len(stored))
	for _, sp := range stored {
		if r, ok := byNumber[sp.Number]; ok && r.ETag == sp.ETag && r.Size == sp.Size && (sp.SHA256 == "" || sp.SHA256 == r.SHA256) {
			r.CRC32C = sp.CRC32C
			out = append(out, r)
			continue
		}
		out = append(out, Part{Number: sp.Number, Size: sp.Size, SHA256: sp.SHA256, CRC32C: sp.CRC32C, ETag: sp.ETag})
	}
	slices.SortFunc(out, func(a, b Part) int { return a.Number - b.Number })
	return out
}
