package uploads

import (
	"testing"

	"github.com/modelkeep/modelkeep"
)

func TestPartSizeFor(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		name       string
		size, base int64
		want       int64
	}{
		{"small file, base", 100, 16 * mib, 16 * mib},
		{"fits at base", 10_000 * 16 * mib, 16 * mib, 16 * mib},
		{"one byte over: next MiB", 10_000*16*mib + 1, 16 * mib, 17 * mib},
		{"1 TiB", 1 << 40, 16 * mib, 105 * mib},
		{"largest", modelkeep.MaxParts * modelkeep.MaxPartSize, 16 * mib, modelkeep.MaxPartSize},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := PartSizeFor(tc.size, tc.base)
			if got != tc.want {
				t.Fatalf("PartSizeFor(%d, %d) = %d, want %d", tc.size, tc.base, got, tc.want)
			}
			if n := PartCount(tc.size, got); n > modelkeep.MaxParts {
				t.Fatalf("%d parts", n)
			}
		})
	}
}

func TestPartSizeOf(t *testing.T) {
	u := Upload{Size: 12<<20 + 5, PartSize: 5 << 20}
	if u.PartCount() != 3 {
		t.Fatalf("PartCount = %d", u.PartCount())
	}
	for n, want := range map[int]int64{1: 5 << 20, 2: 5 << 20, 3: 2<<20 + 5} {
		if got := u.PartSizeOf(n); got != want {
			t.Errorf("PartSizeOf(%d) = %d, want %d", n, got, want)
		}
	}
	if m := missingParts(u, []Part{{Number: 2, Size: 5 << 20}}); m != "1, 3" {
		t.Errorf("missingParts = %q", m)
	}
}
