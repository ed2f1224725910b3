package store

import (
	"bytes"
	"slices"
	"sync"
	"testing"
)

// TestPageTokenKey: replicas starting at once on one database (separate
// stores, so separate connections) all get the same key, one of theirs;
// later calls get it too, whatever they offer.
func TestPageTokenKey(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		dbURL := newURL(t)
		const replicas = 6
		stores := make([]*Store, replicas)
		candidates := make([][]byte, replicas)
		for i := range replicas {
			stores[i] = openStore(t, dbURL)
			candidates[i] = bytes.Repeat([]byte{byte(i + 1)}, 32)
		}
		got := make([][]byte, replicas)
		errs := make([]error, replicas)
		var wg sync.WaitGroup
		for i := range replicas {
			wg.Go(func() { got[i], errs[i] = stores[i].PageTokenKey(t.Context(), candidates[i]) })
		}
		wg.Wait()
		for i := range replicas {
			if errs[i] != nil {
				t.Fatalf("replica %d: %v", i, errs[i])
			}
			if !bytes.Equal(got[i], got[0]) {
				t.Fatalf("replica %d got key %x, replica 0 %x", i, got[i], got[0])
			}
		}
		if !slices.ContainsFunc(candidates, func(c []byte) bool { return bytes.Equal(c, got[0]) }) {
			t.Fatalf("key %x is no replica's candidate", got[0])
		}
		again, err := stores[0].PageTokenKey(t.Context(), bytes.Repeat([]byte{0xee}, 32))
		if err != nil || !bytes.Equal(again, got[0]) {
			t.Fatalf("second call: %x, %v; want the stored %x", again, err, got[0])
		}
		var n int64
		if err := stores[0].db.Model(&pageTokenKeyRow{}).Count(&n).Error; err != nil || n != 1 {
			t.Fatalf("%d rows (%v), want 1", n, err)
		}
		if _, err := stores[0].PageTokenKey(t.Context(), nil); err == nil {
			t.Error("an empty candidate was accepted")
		}
	})
}
