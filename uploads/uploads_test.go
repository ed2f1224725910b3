package uploads

import (
	"errors"
	"fmt"
	"strings"
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

func TestReconcile(t *testing.T) {
	state := []byte("state")
	row := func(n int, etag, sum string) Part {
		return Part{Number: n, Size: 5, ETag: etag, SHA256: sum, HashState: state}
	}
	stored := func(n int, etag, sum string) modelkeep.Part {
		return modelkeep.Part{Number: n, Size: 5, ETag: etag, SHA256: sum}
	}
	tests := []struct {
		name   string
		rows   []Part
		stored []modelkeep.Part
		want   []Part
	}{
		{"nothing", nil, nil, []Part{}},
		{"the row names the stored bytes: its state is kept",
			[]Part{row(1, "e1", "s1")}, []modelkeep.Part{stored(1, "e1", "s1")}, []Part{row(1, "e1", "s1")}},
		{"a store without part checksums: the ETag decides",
			[]Part{row(1, "e1", "s1")}, []modelkeep.Part{stored(1, "e1", "")}, []Part{row(1, "e1", "s1")}},
		{"sent again straight to the store: the store's part, no state",
			[]Part{row(1, "e1", "s1")}, []modelkeep.Part{stored(1, "e2", "s2")}, []Part{{Number: 1, Size: 5, ETag: "e2", SHA256: "s2"}}},
		{"same ETag, other checksum: the store's",
			[]Part{row(1, "e1", "s1")}, []modelkeep.Part{stored(1, "e1", "s9")}, []Part{{Number: 1, Size: 5, ETag: "e1", SHA256: "s9"}}},
		{"a row the store does not hold is no part",
			[]Part{row(1, "e1", "s1"), row(2, "e2", "s2")}, []modelkeep.Part{stored(2, "e2", "s2")}, []Part{row(2, "e2", "s2")}},
		{"parts only in the store, sorted",
			nil, []modelkeep.Part{stored(3, "e3", "s3"), stored(1, "e1", "s1")},
			[]Part{{Number: 1, Size: 5, ETag: "e1", SHA256: "s1"}, {Number: 3, Size: 5, ETag: "e3", SHA256: "s3"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := reconcile(tc.rows, tc.stored)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("reconcile = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestCheckPresignList(t *testing.T) {
	many := make([]PartChecksum, MaxPresignParts+1)
	for i := range many {
		many[i].Number = i + 1
	}
	tests := []struct {
		name  string
		parts []PartChecksum
		want  string // in the error; "" for none
	}{
		{"one", []PartChecksum{{Number: 1}}, ""},
		{"the most", many[:MaxPresignParts], ""},
		{"none", nil, "1 to 100 parts"},
		{"too many", many, "1 to 100 parts"},
		{"zero", []PartChecksum{{Number: 0}}, "part number 0"},
		{"beyond S3's", []PartChecksum{{Number: modelkeep.MaxParts + 1}}, "part number 10001"},
		{"twice", []PartChecksum{{Number: 2}, {Number: 3}, {Number: 2}}, "part 2 is named twice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkPresignList(tc.parts)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("checkPresignList = %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, modelkeep.ErrInvalid)):
				t.Fatalf("checkPresignList = %v, want an invalid argument naming %q", err, tc.want)
			}
		})
	}
}
