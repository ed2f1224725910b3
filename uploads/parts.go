package uploads

import (
	"context"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/modelkeep/modelkeep"
)

// PartInput is one part of a session.
type PartInput struct {
	Model   string
	Version int
	ID      string
	Number  int
	Body    io.Reader
	// Size is the body's length as announced (Content-Length), or -1.
	Size int64
	// SHA256 is the part's digest: required, a part is kept only when its
	// bytes match it.
	SHA256 string
}

// hashingReader feeds what passes through it to the part's hash and, when
// the part is hashed in order, to the whole file's. It checks the part's
// SHA-256 when its last byte arrives, before passing that read on: the
// bytes of a part that does not match never all reach the blob store,
// whose write then fails short of the part's length and keeps nothing.
type hashingReader struct {
	r    io.Reader
	part hash.Hash
	file hash.Hash // nil: not hashed in order
	size int64     // the part's length
	want string    // its hex SHA-256
	read int64
}

func (hr *hashingReader) Read(p []byte) (int, error) {
	n, err := hr.r.Read(p)
	before := hr.read
	hr.read += int64(n)
	if hr.read > hr.size {
		// A body longer than the part (chunked, no Content-Length): the
		// length is what is wrong, not the bytes; none of them is kept.
		return 0, modelkeep.Errorf(modelkeep.ErrInvalid, "the part is longer than its %d bytes", hr.size)
	}
	hr.part.Write(p[:n])
	if hr.file != nil {
		hr.file.Write(p[:n])
	}
	if before < hr.size && hr.read == hr.size {
		if sum := hex.EncodeToString(hr.part.Sum(nil)); sum != hr.want {
			return 0, modelkeep.Errorf(modelkeep.ErrDigestMismatch, "checksum mismatch: got sha256 %s, X-Checksum-Sha256 says %s; send the part again", sum, hr.want)
		}
	}
	return n, err
}

// PutPart streams one part into the session's multipart upload while
// hashing it. It is kept only when its SHA-256 matches the one sent (else
// 422, and any earlier copy of the part is forgotten too: the blob store may
// have replaced it). When the part before it has been hashed in order, the
// whole file's hash is carried on through this part as it streams, and its
// state is kept with the part, so that completion need not read those bytes
// back. Sending a part again replaces it.
func (s *Service) PutPart(ctx context.Context, in PartInput) (Part, error) {
	if err := validateRef(in.Model, in.Version); err != nil {
		return Part{}, err
	}
	if err := validateID(in.ID); err != nil {
		return Part{}, err
	}
	if in.SHA256 == "" {
		return Part{}, modelkeep.Errorf(modelkeep.ErrInvalid, "a part needs its SHA-256 in X-Checksum-Sha256")
	}
	expected, err := modelkeep.ParseSHA256(in.SHA256)
	if err != nil {
		return Part{}, err
	}
	mp, err := s.multipart()
	if err != nil {
		return Part{}, err
	}
	u, err := s.store.GetUpload(ctx, in.Model, in.Version, in.ID)
	if err != nil {
		return Part{}, err
	}
	if u.Status != StatusOpen {
		return Part{}, modelkeep.Errorf(modelkeep.ErrConflict, "upload %s is %s: it takes no more parts", u.ID, u.Status)
	}
	if in.Number < 1 || in.Number > u.PartCount() {
		return Part{}, modelkeep.Errorf(modelkeep.ErrInvalid, "part number %d: this upload has parts 1 to %d", in.Number, u.PartCount())
	}
	size := u.PartSizeOf(in.Number)
	if in.Size >= 0 && in.Size != size {
		return Part{}, modelkeep.Errorf(modelkeep.ErrInvalid, "part %d must have %d bytes, not %d (parts are %d bytes, the last one the rest)", in.Number, size, in.Size, u.PartSize)
	}

	// Hash in order when the part before has been.
	hr := &hashingReader{r: in.Body, part: sha256.New(), size: size, want: expected}
	prev := ""
	if in.Number == 1 {
		hr.file = sha256.New()
	} else if p, err := s.store.GetUploadPart(ctx, u.ID, in.Number-1); err == nil && p.HashState != nil {
		h := sha256.New()
		if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(p.HashState); err == nil {
			hr.file, prev = h, p.SHA256
		}
	} else if err != nil && !errors.Is(err, modelkeep.ErrNotFound) {
		return Part{}, err
	}

	// The part's SHA-256 goes along to a store that keeps SHA-256 part
	// checksums (sessions started before CRC32C): it checks it too. One
	// that keeps CRC32C computes it; hr has checked the SHA-256 by then.
	storeSum := expected
	if u.PartChecksum == modelkeep.ChecksumCRC32C {
		storeSum = ""
	}
	stored, err := mp.PutPart(ctx, u.BlobKey, u.StoreUploadID, in.Number, hr, size, storeSum)
	mismatch := errors.Is(err, modelkeep.ErrDigestMismatch)
	if err != nil && !mismatch {
		if ctx.Err() != nil && modelkeep.KindOf(err) == nil {
			// The client went away (the store's client saw the cancellation
			// before the body did).
			return Part{}, modelkeep.Errorf(modelkeep.ErrInvalid, "the request ended before part %d was stored: %w", in.Number, ctx.Err())
		}
		switch modelkeep.KindOf(err) {
		case modelkeep.ErrTooLarge, modelkeep.ErrInvalid:
			return Part{}, err
		case modelkeep.ErrNotFound:
			s.logger.WarnContext(ctx, "the blob store has no multipart upload for an open session", "upload_id", u.ID, "part", in.Number, "err", err)
			return Part{}, modelkeep.Errorf(modelkeep.ErrConflict, "upload %s ended while part %d was sent (the blob store no longer has its multipart upload)", u.ID, in.Number)
		}
		return Part{}, fmt.Errorf("store part %d of upload %s: %w", in.Number, u.ID, err)
	}
	sum := hex.EncodeToString(hr.part.Sum(nil))
	if mismatch || sum != expected {
		// The store may hold these bytes as part n now: forget the part.
		if err := s.store.DeleteUploadPart(context.WithoutCancel(ctx), u.ID, in.Number); err != nil {
			s.logger.Warn("forget a refused part", "upload_id", u.ID, "part", in.Number, "err", err)
		}
		return Part{}, modelkeep.Errorf(modelkeep.ErrDigestMismatch, "checksum mismatch for part %d: got sha256 %s, X-Checksum-Sha256 says %s; send the part again", in.Number, sum, expected)
	}
	p := Part{Number: in.Number, Size: size, SHA256: sum, ETag: stored.ETag, CreatedAt: s.clock()}
	if hr.file != nil {
		if p.HashState, err = hr.file.(encoding.BinaryMarshaler).MarshalBinary(); err != nil {
			return Part{}, fmt.Errorf("save the file's hash state: %w", err)
		}
		p.PrevSHA256 = prev
	}
	// The bytes are stored: record them even if the client has gone away
	// meanwhile, so that a resumed upload need not send them again.
	ctx = context.WithoutCancel(ctx)
	err = s.store.InUploadTx(ctx, func(tx Store) error {
		if err := tx.TouchUpload(ctx, u.ID, p.CreatedAt, p.CreatedAt.Add(s.opts.Expiry)); err != nil {
			if errors.Is(err, modelkeep.ErrConflict) {
				s.logger.WarnContext(ctx, "a part arrived for a session that is not open", "upload_id", u.ID, "part", in.Number, "err", err)
				return modelkeep.Errorf(modelkeep.ErrConflict, "upload %s ended while part %d was sent (the session is no longer open)", u.ID, in.Number)
			}
			return err
		}
		return tx.PutUploadPart(ctx, u.ID, p)
	})
	if err != nil {
		return Part{}, err
	}
	return p, nil
}

// Complete verifies the session's file and joins it to the version: every
// part must have arrived (where parts may go straight to the blob store,
// its own listing says which did); the blob store joins them; the whole
// file's SHA-256 is the state hashed in order as parts arrived through the
// server, carried on over the bytes that were not (read back from the
// joined blob: all of them when every part went straight to the store,
// which the server then never saw); it and the size
// must match what the session announced, else nothing is kept (422). The
// file row, the session's end and the audit event commit together. A
// completed session answers again with its file (created false).
func (s *Service) Complete(ctx context.Context, model string, version int, id, wantSHA256 string) (modelkeep.File, bool, error) {
	if err := validateRef(model, version); err != nil {
		return modelkeep.File{}, false, err
	}
	if err := validateID(id); err != nil {
		return modelkeep.File{}, false, err
	}
	if wantSHA256 != "" {
		var err error
		if wantSHA256, err = modelkeep.ParseSHA256(wantSHA256); err != nil {
			return modelkeep.File{}, false, err
		}
	}
	if _, err := s.multipart(); err != nil {
		return modelkeep.File{}, false, err
	}
	u, err := s.store.GetUpload(ctx, model, version, id)
	if err != nil {
		return modelkeep.File{}, false, err
	}
	if u.SHA256 != "" && wantSHA256 != "" && wantSHA256 != u.SHA256 {
		// Bound to fail whatever the parts hold: said before claiming
		// the session or reading a byte, and the session stays as it is.
		return modelkeep.File{}, false, modelkeep.Errorf(modelkeep.ErrDigestMismatch,
			"upload %s announced sha256 %s, X-Checksum-Sha256 says %s", id, u.SHA256, wantSHA256)
	}
	if u.Status == StatusCompleted {
		f, err := s.store.GetFile(ctx, model, version, u.Path)
		if err != nil || f.BlobKey != u.BlobKey {
			return modelkeep.File{}, false, modelkeep.Errorf(modelkeep.ErrConflict, "upload %s completed, but its file %q has been replaced or removed since", id, u.Path)
		}
		return f, false, nil
	}
	if u.Status != StatusOpen && u.Status != StatusCompleting {
		return modelkeep.File{}, false, modelkeep.Errorf(modelkeep.ErrConflict, "upload %s is %s", id, u.Status)
	}
	// Claim the completion: one at a time, or over one whose server died.
	now := s.clock()
	err = s.store.SetUploadStatus(ctx, id, []Status{StatusOpen}, time.Time{}, StatusCompleting, "", now, u.ExpiresAt)
	if errors.Is(err, modelkeep.ErrConflict) {
		err = s.store.SetUploadStatus(ctx, id, []Status{StatusCompleting}, now.Add(-s.opts.CompletingStaleAfter), StatusCompleting, "", now, u.ExpiresAt)
		if errors.Is(err, modelkeep.ErrConflict) {
			return modelkeep.File{}, false, modelkeep.Errorf(modelkeep.ErrConflict, "upload %s is being completed by another request; ask again later", id)
		}
	}
	if err != nil {
		return modelkeep.File{}, false, err
	}
	reopen := func() {
		if err := s.store.SetUploadStatus(context.WithoutCancel(ctx), id, []Status{StatusCompleting}, time.Time{}, StatusOpen, "", s.clock(), s.clock().Add(s.opts.Expiry)); err != nil {
			s.logger.Warn("reopen an upload after a failed completion", "upload_id", id, "err", err)
		}
	}

	// Read the session again now that it is claimed: a presign that
	// committed before the claim is seen (none can start after it).
	if u, err = s.store.GetUpload(ctx, model, version, id); err != nil {
		reopen()
		return modelkeep.File{}, false, err
	}
	parts, joined, err := s.join(ctx, u)
	if err != nil {
		if !joined {
			reopen()
		}
		return modelkeep.File{}, false, err
	}
	sum, size, err := s.verify(ctx, u, parts)
	if err != nil {
		// The parts are joined: the session cannot go back to open. A
		// transient failure leaves it completing (another request may try
		// again once stale; the sweep ends it at expiry).
		return modelkeep.File{}, false, fmt.Errorf("verify upload %s: %w", id, err)
	}
	if size != u.Size || (u.SHA256 != "" && sum != u.SHA256) || (wantSHA256 != "" && sum != wantSHA256) {
		s.deleteBlob(u.BlobKey)
		s.fail(ctx, u, fmt.Sprintf("got %d bytes with sha256 %s", size, sum))
		announced := orNone(u.SHA256)
		if wantSHA256 != "" {
			announced = wantSHA256 + " (X-Checksum-Sha256)"
		}
		return modelkeep.File{}, false, modelkeep.Errorf(modelkeep.ErrDigestMismatch,
			"upload %s: the file has %d bytes with sha256 %s, the upload announced %d bytes with sha256 %s; nothing was kept",
			id, size, sum, u.Size, announced)
	}

	f := modelkeep.File{Path: u.Path, Size: size, SHA256: sum, BlobKey: u.BlobKey, CreatedAt: s.clock()}
	var replaced *modelkeep.File
	err = s.store.InUploadTx(ctx, func(tx Store) error {
		var err error
		if replaced, err = tx.PutFile(ctx, model, version, f); err != nil {
			return err
		}
		if err := tx.SetUploadStatus(ctx, id, []Status{StatusCompleting}, time.Time{}, StatusCompleted, sum, f.CreatedAt, f.CreatedAt.Add(s.opts.Expiry)); err != nil {
			if errors.Is(err, modelkeep.ErrConflict) {
				return modelkeep.Errorf(modelkeep.ErrConflict, "upload %s was ended while it was being completed", id)
			}
			return err
		}
		details := map[string]any{"upload_id": id, "path": f.Path, "size": f.Size, "sha256": f.SHA256, "parts": len(parts)}
		if replaced != nil {
			details["replaced_sha256"] = replaced.SHA256
		}
		err = s.log.RecordChange(ctx, tx, "upload.complete", uploadResource(model, version), details)
		return err
	})
	if err != nil {
		if errors.Is(err, modelkeep.ErrConflict) {
			// The version is no longer pending (or the session ended): the
			// bytes can never join it.
			s.deleteBlob(u.BlobKey)
			s.fail(ctx, u, err.Error())
		}
		return modelkeep.File{}, false, err
	}
	if replaced != nil && replaced.BlobKey != f.BlobKey {
		s.deleteBlob(replaced.BlobKey)
	}
	return f, true, nil
}

// join joins a completing session's parts in the blob store and returns
// them (those whose in-order hash state verify may use). Every part must
// be there (else 409, and the session may go back to open: joined false).
// When the store's upload is gone already, an earlier completion joined the
// parts and then stopped: the blob must then be there, of the file's size,
// else the session has lost its parts (409, failed; joined true: it must
// not reopen).
func (s *Service) join(ctx context.Context, u Upload) (parts []Part, joined bool, err error) {
	parts, stored, err := s.parts(ctx, u)
	if err == nil {
		if missing := missingParts(u, parts); missing != "" {
			return nil, false, modelkeep.Errorf(modelkeep.ErrConflict, "upload %s is missing parts %s (of 1 to %d): send them, then complete", u.ID, missing, u.PartCount())
		}
		_, err = s.mp.CompleteMultipart(ctx, u.BlobKey, u.StoreUploadID, stored)
		switch {
		case err == nil:
			return parts, true, nil
		case errors.Is(err, modelkeep.ErrConflict):
			return nil, false, modelkeep.Errorf(modelkeep.ErrConflict, "the stored parts of upload %s are not the ones received (a part was sent twice at once?): list the parts, send the ones in doubt again, then complete: %w", u.ID, err)
		}
	}
	if !errors.Is(err, modelkeep.ErrNotFound) {
		return nil, false, fmt.Errorf("join the parts of upload %s: %w", u.ID, err)
	}
	info, serr := s.blobs.Stat(ctx, u.BlobKey)
	if serr != nil || info.Size != u.Size {
		s.fail(ctx, u, "the multipart upload is gone")
		return nil, true, modelkeep.Errorf(modelkeep.ErrConflict, "upload %s lost its parts; start a new upload", u.ID)
	}
	if s.pp != nil {
		// Which bytes the store joined is no longer known: read all back.
		return nil, true, nil
	}
	parts, err = s.store.ListUploadParts(ctx, u.ID)
	return parts, true, err
}

func orNone(s string) string {
	if s == "" {
		return "(none given)"
	}
	return s
}

// fail ends a session that cannot complete, and records why.
func (s *Service) fail(ctx context.Context, u Upload, reason string) {
	ctx = context.WithoutCancel(ctx)
	now := s.clock()
	if err := s.store.SetUploadStatus(ctx, u.ID, []Status{StatusCompleting}, time.Time{}, StatusFailed, "", now, now.Add(s.opts.Expiry)); err != nil {
		s.logger.Warn("mark an upload failed", "upload_id", u.ID, "err", err)
	}
	s.log.RecordRefusal(ctx, "upload.complete.refused", uploadResource(u.Model, u.Version), map[string]any{
		"upload_id": u.ID, "path": u.Path, "reason": reason})
}

// missingParts lists the part numbers a session still lacks ("" when none),
// at most 20 of them.
func missingParts(u Upload, parts []Part) string {
	have := make(map[int]bool, len(parts))
	for _, p := range parts {
		if p.Size == u.PartSizeOf(p.Number) {
			have[p.Number] = true
		}
	}
	var missing []string
	count := 0
	for n := 1; n <= u.PartCount(); n++ {
		if !have[n] {
			count++
			if len(missing) < 20 {
				missing = append(missing, strconv.Itoa(n))
			}
		}
	}
	switch {
	case count == 0:
		return ""
	case count > len(missing):
		return strings.Join(missing, ", ") + fmt.Sprintf(" and %d more", count-len(missing))
	}
	return strings.Join(missing, ", ")
}

// verify computes the joined file's SHA-256 and size. It starts from the
// longest chain of parts hashed in order (each continuing the state of the
// part before it as it is now) and reads the rest back from the blob store.
// A session that handed out presigned part URLs trusts no chain: a part the
// server recorded may have been replaced in the bucket since, through such
// a URL, by bytes of the same ETag (an MD5: pairs of bytes with one are
// easy to make) and size, and its hash state would then name bytes the
// blob does not hold. Its whole file is read back.
func (s *Service) verify(ctx context.Context, u Upload, parts []Part) (string, int64, error) {
	h := sha256.New()
	var offset int64
	prev := ""
	for _, p := range parts {
		if u.Presigned || p.HashState == nil || p.PrevSHA256 != prev {
			break
		}
		next := sha256.New()
		if err := next.(encoding.BinaryUnmarshaler).UnmarshalBinary(p.HashState); err != nil {
			break
		}
		h, offset, prev = next, offset+p.Size, p.SHA256
	}
	if offset == u.Size {
		return hex.EncodeToString(h.Sum(nil)), offset, nil
	}
	rc, info, err := s.blobs.Open(ctx, u.BlobKey)
	if err != nil {
		return "", 0, err
	}
	defer rc.Close()
	if _, err := rc.Seek(offset, io.SeekStart); err != nil {
		return "", 0, err
	}
	n, err := copyReadAhead(h, rc)
	if err != nil {
		return "", 0, fmt.Errorf("read back from byte %d: %w", offset, err)
	}
	if offset+n != info.Size {
		return "", 0, fmt.Errorf("read back %d bytes from byte %d of %d", n, offset, info.Size)
	}
	s.logger.DebugContext(ctx, "upload verified", "upload_id", u.ID, "hashed_in_order", offset, "read_back", n)
	return hex.EncodeToString(h.Sum(nil)), offset + n, nil
}
