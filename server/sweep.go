package server

import (
	"context"
	"time"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/uploads"
)

// sweepOrphans periodically sweeps resumable uploads (SweepUploads) and then
// removes blobs that no file row references and that are older than
// cfg.OrphanMinAge: leftovers of uploads whose process died between writing
// the bytes and committing the row, or of clean-ups that failed. Younger
// blobs may belong to uploads in flight.
func (s *Server) sweepOrphans(ctx context.Context) {
	if s.cfg.OrphanSweepInterval <= 0 {
		return
	}
	ticker := time.NewTicker(s.cfg.OrphanSweepInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			// Uploads first: an expired session's half-joined blob is then
			// an orphan the blob sweep may remove.
			res, err := s.SweepUploads(ctx, time.Now(), s.cfg.OrphanMinAge)
			if err != nil && ctx.Err() == nil {
				s.logger.Warn("upload sweep failed", "err", err, "expired", res.Expired, "removed", res.Removed, "aborted", res.Aborted)
			} else if res != (uploads.SweepResult{}) {
				s.logger.Info("upload sweep", "expired", res.Expired, "removed", res.Removed, "aborted", res.Aborted)
			}
			removed, err := s.SweepOrphans(ctx, time.Now().Add(-s.cfg.OrphanMinAge))
			if err != nil && ctx.Err() == nil {
				s.logger.Warn("orphan sweep failed", "err", err, "removed", removed)
			} else if removed > 0 {
				s.logger.Info("orphan sweep removed unreferenced blobs", "removed", removed)
			}
		}
	}
}

// SweepOrphans deletes blobs under files/ modified before cutoff that no file
// row references, and returns how many it removed. Blob stores that cannot
// list their keys are left alone.
func (s *Server) SweepOrphans(ctx context.Context, cutoff time.Time) (int, error) {
	lister, ok := s.blobs.(modelkeep.BlobLister)
	if !ok {
		return 0, nil
	}
	removed := 0
	err := lister.List(ctx, "files/", func(b modelkeep.BlobInfo) error {
		if !b.ModTime.Before(cutoff) {
			return nil
		}
		inUse, err := s.meta.BlobKeyInUse(ctx, b.Key)
		if err != nil || inUse {
			return err
		}
		if err := s.blobs.Delete(ctx, b.Key); err != nil {
			return err
		}
		removed++
		return nil
	})
	return removed, err
}

// sessionSweepInterval: ended browser sessions and abandoned sign-ins are
// refused anyway; the sweep only keeps their tables short.
const sessionSweepInterval = 10 * time.Minute

// sweepSessions periodically removes browser sessions that ended (expired,
// idle or signed out) and sign-ins at the identity provider never finished.
func (s *Server) sweepSessions(ctx context.Context) {
	ticker := time.NewTicker(sessionSweepInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			if n, err := s.SweepSessions(ctx); err != nil && ctx.Err() == nil {
				s.logger.Warn("session sweep failed", "err", err)
			} else if n > 0 {
				s.logger.Debug("session sweep removed ended sessions", "removed", n)
			}
		}
	}
}

// SweepSessions removes the ended sessions and expired sign-ins now and
// returns how many.
func (s *Server) SweepSessions(ctx context.Context) (int64, error) {
	return s.sessions.Sweep(ctx)
}

// SweepUploads, as at now, ends expired upload sessions (aborting their multipart
// uploads), removes finished ones kept past their retention, and aborts the
// blob store's multipart uploads under files/ that no live session owns and
// that have had no new part for minAge: those of sessions whose abort
// failed, and those a server started for a chunked PUT and left behind when
// it was killed (a server that is alive sends parts every few seconds, so
// the uploads of other replicas are safe as long as minAge is far longer
// than that).
func (s *Server) SweepUploads(ctx context.Context, now time.Time, minAge time.Duration) (uploads.SweepResult, error) {
	return s.uploads.Sweep(ctx, now, minAge)
}
