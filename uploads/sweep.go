package uploads

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/modelkeep/modelkeep"
)

// SweepResult says what a sweep did.
type SweepResult struct {
	Expired int // open or completing sessions past their expiry, ended
	Removed int // final sessions past their retention, removed
	// Aborted counts the blob store's multipart uploads under files/ that
	// no live session owns and that had been idle for the minimum age:
	// those of expired or aborted sessions, and those a server started for
	// a chunked PUT and left behind when it was killed.
	Aborted int
}

// sweepBatch bounds the sessions one sweep step reads at once.
const sweepBatch = 100

// sweepActor is who the sweep's audit events name.
var sweepActor = modelkeep.Actor{Subject: "modelkeep (upload sweep)"}

// Sweep, as at now, ends the sessions that expired (their multipart uploads aborted, a
// half-completed one's blob removed unless a file uses it; each audited as
// upload.expire), removes final sessions kept past their retention, and
// aborts every multipart upload under files/ that no live session owns and
// whose newest part is older than minAge. minAge protects the uploads a
// server (this one or another replica) is still writing for a chunked PUT:
// those send a part every few seconds.
func (s *Service) Sweep(ctx context.Context, now time.Time, minAge time.Duration) (SweepResult, error) {
	var res SweepResult
	mp, err := s.multipart()
	if err != nil {
		return res, nil // nothing to sweep
	}
	ctx = modelkeep.WithActor(ctx, sweepActor)
	now = now.UTC().Truncate(time.Microsecond)
	var errs []error

	due, err := s.store.DueUploads(ctx, []Status{StatusOpen, StatusCompleting}, now, sweepBatch)
	if err != nil {
		return res, err
	}
	for _, u := range due {
		if err := s.expire(ctx, mp, u, now); err != nil {
			errs = append(errs, err)
			continue
		}
		res.Expired++
	}

	old, err := s.store.DueUploads(ctx, []Status{StatusCompleted, StatusAborted, StatusExpired, StatusFailed}, now, sweepBatch)
	if err != nil {
		return res, errors.Join(append(errs, err)...)
	}
	for _, u := range old {
		if err := s.store.DeleteUpload(ctx, u.ID); err != nil {
			errs = append(errs, err)
			continue
		}
		res.Removed++
	}

	cutoff := now.Add(-minAge)
	err = mp.ListMultipart(ctx, "files/", func(m modelkeep.MultipartUpload) error {
		if !m.LastActivity.Before(cutoff) {
			return nil
		}
		owned, err := s.store.LiveUploadOwns(ctx, m.Key, m.UploadID)
		if err != nil || owned {
			return err
		}
		if err := mp.AbortMultipart(ctx, m.Key, m.UploadID); err != nil {
			return err
		}
		s.logger.InfoContext(ctx, "aborted a multipart upload nobody owns", "key", m.Key, "initiated", m.Initiated, "last_activity", m.LastActivity)
		res.Aborted++
		return nil
	})
	if err != nil {
		errs = append(errs, fmt.Errorf("abort orphaned multipart uploads: %w", err))
	}
	return res, errors.Join(errs...)
}

// expire ends one session past its expiry.
func (s *Service) expire(ctx context.Context, mp modelkeep.Multipart, u Upload, now time.Time) error {
	err := s.store.InUploadTx(ctx, func(tx Store) error {
		// Only if it is still due: a part or a completion may have come.
		if err := tx.SetUploadStatus(ctx, u.ID, []Status{u.Status}, u.UpdatedAt.Add(time.Microsecond), StatusExpired, "", now, now.Add(s.opts.Expiry)); err != nil {
			return err
		}
		err := s.log.RecordChange(ctx, tx, "upload.expire", uploadResource(u.Model, u.Version), map[string]any{
			"upload_id": u.ID, "path": u.Path, "was": string(u.Status)})
		return err
	})
	if errors.Is(err, modelkeep.ErrConflict) {
		return nil // it moved on meanwhile
	}
	if err != nil {
		return fmt.Errorf("expire upload %s: %w", u.ID, err)
	}
	if err := mp.AbortMultipart(ctx, u.BlobKey, u.StoreUploadID); err != nil {
		return fmt.Errorf("abort the multipart upload of expired upload %s: %w", u.ID, err)
	}
	if u.Status == StatusCompleting {
		// Its parts may have been joined already.
		inUse, err := s.store.BlobKeyInUse(ctx, u.BlobKey)
		if err != nil {
			return err
		}
		if !inUse {
			if err := s.blobs.Delete(ctx, u.BlobKey); err != nil {
				return fmt.Errorf("delete the blob of expired upload %s: %w", u.ID, err)
			}
		}
	}
	return nil
}
