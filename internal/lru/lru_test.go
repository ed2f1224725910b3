package lru

import (
	"slices"
	"sync"
	"testing"
)

// keys lists the keys from the most recently used to the least.
func keys(w *Weighted[string, *int]) []string {
	var out []string
	for e := w.order.Front(); e != nil; e = e.Next() {
		out = append(out, e.Value.(*entry[string, *int]).key)
	}
	return out
}

func val(n int) *int { return &n }

func always(*int) bool { return true }

// Weights below count one per entry on top of the value's.
func TestPutEvictsLeastRecentlyUsed(t *testing.T) {
	w := New[string, *int](12)
	w.Put("a", val(1), 3, always)
	w.Put("b", val(2), 3, always)
	if _, ok := w.Get("a"); !ok { // a is now the most recently used
		t.Fatal("a missing")
	}
	w.Put("c", val(3), 3, always) // 4 + 4 + 4 = 12: fits
	w.Put("d", val(4), 0, always) // 13 > 12: b goes, not a
	if got := keys(w); !slices.Equal(got, []string{"d", "c", "a"}) || w.Weight() != 9 {
		t.Fatalf("keys %v, weight %d", got, w.Weight())
	}
}

func TestPutReplaces(t *testing.T) {
	tests := []struct {
		name       string
		replace    bool
		weight     int
		wantValue  int
		wantWeight int
		wantLen    int
	}{
		{"replaced", true, 3, 2, 4, 1},
		{"kept", false, 3, 1, 6, 1},
		{"heavier than the map: the old one goes anyway", true, 10, 0, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := New[string, *int](10)
			w.Put("a", val(1), 5, always)
			w.Put("a", val(2), tc.weight, func(*int) bool { return tc.replace })
			v, ok := w.Get("a")
			if got := 0; ok {
				got = *v
				if got != tc.wantValue {
					t.Errorf("value %d, want %d", got, tc.wantValue)
				}
			} else if tc.wantValue != 0 {
				t.Errorf("value missing, want %d", tc.wantValue)
			}
			if w.Weight() != tc.wantWeight || w.Len() != tc.wantLen {
				t.Errorf("weight %d len %d, want %d and %d", w.Weight(), w.Len(), tc.wantWeight, tc.wantLen)
			}
		})
	}
}

func TestSetWeight(t *testing.T) {
	w := New[string, *int](10)
	a := w.GetOrAdd("a", func() *int { return val(1) })
	if w.Weight() != 1 || w.GetOrAdd("a", func() *int { t.Fatal("added twice"); return nil }) != a {
		t.Fatal("GetOrAdd: a second call must return the first value, weighing only its entry")
	}
	w.Put("b", val(2), 3, always)
	w.Put("c", val(3), 3, always)
	// a, now the least recently used, grows past the bound: the others go,
	// never a itself.
	w.SetWeight("a", a, 8)
	if got := keys(w); !slices.Equal(got, []string{"a"}) || w.Weight() != 9 {
		t.Fatalf("keys %v, weight %d", got, w.Weight())
	}
	// Over the bound alone: kept, it is in use.
	w.SetWeight("a", a, 12)
	if w.Len() != 1 || w.Weight() != 13 {
		t.Fatalf("len %d, weight %d", w.Len(), w.Weight())
	}
	// A value that no longer holds its key is not counted.
	w.Put("a", val(4), 2, always)
	w.SetWeight("a", a, 7)
	if w.Weight() != 3 {
		t.Fatalf("weight %d after a stale SetWeight, want 3", w.Weight())
	}
}

// Entries of empty values (a posting list that matches nothing, a metric
// no version has) are bounded too: one each.
func TestEmptyValuesAreBounded(t *testing.T) {
	w := New[int, *int](100)
	for i := range 10_000 {
		w.GetOrAdd(i, func() *int { return val(i) })
		w.Put(-i-1, val(i), 0, always)
	}
	if w.Len() > 100 || w.Weight() > 100 {
		t.Fatalf("%d entries weighing %d, bound 100", w.Len(), w.Weight())
	}
}

func TestConcurrent(t *testing.T) {
	w := New[int, *int](100)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				k := (g*7 + i) % 50
				v := w.GetOrAdd(k, func() *int { return val(k) })
				w.SetWeight(k, v, i%7)
				w.Put(k+50, val(i), i%5, func(old *int) bool { return *old < i })
				w.Get(k)
			}
		}()
	}
	wg.Wait()
	sum := 0
	for e := w.order.Front(); e != nil; e = e.Next() {
		sum += e.Value.(*entry[int, *int]).weight
	}
	if sum != w.Weight() || len(w.entries) != w.order.Len() {
		t.Fatalf("weights %d, recorded %d; %d entries, %d in order", sum, w.Weight(), len(w.entries), w.order.Len())
	}
}
