package boundedmap

import "testing"

func TestMap(t *testing.T) {
	m := New[int, string](8) // two generations of 4
	m.Put(1, "one")
	for k := 2; k <= 20; k++ {
		m.Put(k, "x")
		if v, ok := m.Get(1); !ok || v != "one" {
			t.Fatalf("entry 1 dropped after %d puts while in use", k)
		}
		if n := m.Len(); n > 8 {
			t.Fatalf("%d entries, at most 8", n)
		}
	}
	if _, ok := m.Get(2); ok {
		t.Error("entry 2, unused since, is still held")
	}
	if _, ok := m.Get(99); ok {
		t.Error("a key never put was found")
	}
}

func TestNilMapHoldsNothing(t *testing.T) {
	m := New[int, int](0)
	if m != nil {
		t.Fatal("New(0) is not nil")
	}
	m.Put(1, 1)
	if _, ok := m.Get(1); ok || m.Len() != 0 {
		t.Fatal("a nil map held an entry")
	}
}

// Delete removes a key from either generation.
func TestDelete(t *testing.T) {
	m := New[int, string](4) // two generations of 2
	m.Put(1, "old")
	m.Put(2, "x")
	m.Put(3, "new") // 1 and 2 move to the previous generation
	m.Delete(1)
	m.Delete(3)
	for _, k := range []int{1, 3} {
		if _, ok := m.Get(k); ok {
			t.Errorf("entry %d found after Delete", k)
		}
	}
	if v, ok := m.Get(2); !ok || v != "x" {
		t.Error("Delete removed another entry")
	}
	New[int, int](0).Delete(1) // a nil map: nothing to do
}
