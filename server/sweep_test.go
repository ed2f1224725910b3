package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep/store/blob"
)

// TestSweepOrphans: blobs no file row references (a crash between writing the
// bytes and committing the row) are removed once old enough; referenced and
// young blobs stay.
func TestSweepOrphans(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.mustCreateModel("m")
		n := e.mustCreateVersion("m")
		e.expect(e.do("PUT", fmt.Sprintf("/api/v1/models/m/versions/%d/files/kept.bin", n), []byte("kept")), http.StatusCreated, nil)

		store, err := blob.Open(context.Background(), e.blobs, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		orphan := fmt.Sprintf("files/m/%d/crashed-upload", n)
		if _, err := store.Put(context.Background(), orphan, strings.NewReader("lost"), 4); err != nil {
			t.Fatal(err)
		}
		if len(e.blobKeys()) != 2 {
			t.Fatalf("blobs before the sweep: %v", e.blobKeys())
		}
		// Too young: an upload may still be committing its row.
		if removed, err := e.srv.SweepOrphans(context.Background(), time.Now().Add(-time.Hour)); err != nil || removed != 0 {
			t.Fatalf("sweep of young blobs removed %d, err %v", removed, err)
		}
		removed, err := e.srv.SweepOrphans(context.Background(), time.Now().Add(time.Hour))
		if err != nil || removed != 1 {
			t.Fatalf("sweep removed %d, err %v", removed, err)
		}
		keys := e.blobKeys()
		if len(keys) != 1 || strings.Contains(keys[0], "crashed-upload") {
			t.Fatalf("blobs after the sweep: %v", keys)
		}
		e.expect(e.do("GET", fmt.Sprintf("/api/v1/models/m/versions/%d/files/kept.bin", n), nil), http.StatusOK, nil)
	})
}
