package server

import (
	"context"
	"time"

	"github.com/modelkeep/modelkeep"
)

// sweepOrphans periodically removes blobs that no file row references and
// that are older than cfg.OrphanMinAge: leftovers of uploads whose process
// died between writing the bytes and committing the row, or of clean-ups
// that failed. Younger blobs may belong to uploads in flight.
func (s *Server) sweepOrphans(ctx context.Context) {
	lister, ok := s.blobs.(modelkeep.BlobLister)
	if !ok || s.cfg.OrphanSweepInterval <= 0 {
		return
	}
	ticker := time.NewTicker(s.cfg.OrphanSweepInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			removed, err := SweepOrphans(ctx, s.meta, s.blobs, lister, time.Now().Add(-s.cfg.OrphanMinAge))
			if err != nil && ctx.Err() == nil {
				s.logger.Warn("orphan sweep failed", "err", err, "removed", removed)
			} else if removed > 0 {
				s.logger.Info("orphan sweep removed unreferenced blobs", "removed", removed)
			}
		}
	}
}

// SweepOrphans deletes blobs under files/ modified before cutoff that no file
// row references, and returns how many it removed.
func SweepOrphans(ctx context.Context, meta modelkeep.MetaStore, blobs modelkeep.BlobStore, lister modelkeep.BlobLister, cutoff time.Time) (int, error) {
	removed := 0
	err := lister.List(ctx, "files/", func(b modelkeep.BlobInfo) error {
		if !b.ModTime.Before(cutoff) {
			return nil
		}
		inUse, err := meta.BlobKeyInUse(ctx, b.Key)
		if err != nil || inUse {
			return err
		}
		if err := blobs.Delete(ctx, b.Key); err != nil {
			return err
		}
		removed++
		return nil
	})
	return removed, err
}
