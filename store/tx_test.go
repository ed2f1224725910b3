package store

import (
	"errors"
	"testing"

	"github.com/modelkeep/modelkeep/audit"

	"github.com/modelkeep/modelkeep"
)

func TestInTx(t *testing.T) {
	errBoom := errors.New("boom")
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		ctx := t.Context()
		mustCreateModel(t, s, "existing", nil)
		mustCreateVersion(t, s, "existing")
		if _, err := s.AppendAudit(ctx, audit.Event{Actor: "a", Action: "before"}); err != nil {
			t.Fatal(err)
		}

		// writeAll makes one change of every kind in tx.
		writeAll := func(tx modelkeep.MetaStore) error {
			if err := tx.CreateModel(ctx, modelkeep.Model{Name: "new", Tags: map[string]string{"k": "v"}}); err != nil {
				return err
			}
			n, err := tx.CreateVersion(ctx, modelkeep.Version{Model: "new"})
			if err != nil {
				return err
			}
			if _, err := tx.PutFile(ctx, "new", n, modelkeep.File{Path: "f", Size: 1, SHA256: sha("f"), BlobKey: "rolled-back"}); err != nil {
				return err
			}
			if _, err := tx.CreateVersion(ctx, modelkeep.Version{Model: "existing"}); err != nil {
				return err
			}
			_, err = tx.AppendAudit(ctx, audit.Event{Actor: "a", Action: "rolled.back"})
			return err
		}
		checkNothingLeft := func(t *testing.T) {
			t.Helper()
			if _, err := s.GetModel(ctx, "new"); !errors.Is(err, modelkeep.ErrNotFound) {
				t.Errorf("model from the rolled-back transaction: %v", err)
			}
			if used, err := s.BlobKeyInUse(ctx, "rolled-back"); err != nil || used {
				t.Errorf("file row from the rolled-back transaction: %v %v", used, err)
			}
			if m, err := s.GetModel(ctx, "existing"); err != nil || m.LatestVersion != 1 {
				t.Errorf("existing model's counter is %d (%v), want 1", m.LatestVersion, err)
			}
			if seq, _, err := s.AuditHead(ctx); err != nil || seq != 1 {
				t.Errorf("audit head seq %d (%v), want 1", seq, err)
			}
		}

		t.Run("error rolls back everything", func(t *testing.T) {
			err := s.InTx(ctx, func(tx modelkeep.MetaStore) error {
				if err := writeAll(tx); err != nil {
					return err
				}
				return errBoom
			})
			// fn's error comes back untouched, not wrapped or translated.
			if !errors.Is(err, errBoom) || err.Error() != errBoom.Error() {
				t.Errorf("InTx returned %v, want fn's error itself", err)
			}
			checkNothingLeft(t)
		})
		t.Run("nested InTx joins the outer transaction", func(t *testing.T) {
			err := s.InTx(ctx, func(tx modelkeep.MetaStore) error {
				if err := tx.InTx(ctx, writeAll); err != nil {
					return err
				}
				return errBoom // the outer failure undoes the inner work
			})
			if !errors.Is(err, errBoom) {
				t.Errorf("InTx returned %v", err)
			}
			checkNothingLeft(t)
		})
		t.Run("success commits", func(t *testing.T) {
			if err := s.InTx(ctx, writeAll); err != nil {
				t.Fatal(err)
			}
			if _, err := s.GetModel(ctx, "new"); err != nil {
				t.Error(err)
			}
			if seq, _, err := s.AuditHead(ctx); err != nil || seq != 2 {
				t.Errorf("audit head seq %d (%v), want 2", seq, err)
			}
		})
		t.Run("the transaction's store cannot be closed", func(t *testing.T) {
			err := s.InTx(ctx, func(tx modelkeep.MetaStore) error {
				return tx.(*Store).Close()
			})
			if err == nil {
				t.Error("closing the transaction's store succeeded")
			}
		})
		t.Run("ping inside and outside", func(t *testing.T) {
			if err := s.Ping(ctx); err != nil {
				t.Error(err)
			}
			if err := s.InTx(ctx, func(tx modelkeep.MetaStore) error { return tx.Ping(ctx) }); err != nil {
				t.Error(err)
			}
		})
	})
}
