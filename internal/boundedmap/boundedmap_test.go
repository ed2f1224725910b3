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
