package main

import (
	"io"
	"os"
	"runtime"
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1048576", 1 << 20, true},
		{"1GiB", 1 << 30, true},
		{"512 MiB", 512 << 20, true},
		{"64KiB", 64 << 10, true},
		{"1 GiB", 1 << 30, true}, // as the default is printed
		{"1GB", 0, false},
		{"-1MiB", 0, false},
		{"", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseSize(tc.in)
			if (err == nil) != tc.ok || got != tc.want {
				t.Fatalf("parseSize(%q) = %d, %v; want %d, ok %v", tc.in, got, err, tc.want, tc.ok)
			}
		})
	}
}

func TestFormatSize(t *testing.T) {
	for in, want := range map[int64]string{
		1 << 30: "1 GiB", 64 << 20: "64 MiB", 3 << 19: "1.5 MiB", 512: "512 B", -(2 << 20): "-2 MiB",
	} {
		if got := formatSize(in); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestParseFlags(t *testing.T) {
	env := map[string]string{
		"MODELKEEP_TEST_S3_ENDPOINT":   "http://127.0.0.1:7070",
		"MODELKEEP_TEST_S3_ACCESS_KEY": "key",
		"MODELKEEP_TEST_S3_SECRET_KEY": "secret",
	}
	c, err := parseFlags([]string{"-size", "256MiB", "-server-env", "GOGC=50"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.endpoint != env["MODELKEEP_TEST_S3_ENDPOINT"] || c.size != 256<<20 || c.reps != 3 || c.maxRSSGrowth != 64<<20 ||
		c.minRatio != 0.8 || len(c.serverEnv) != 1 {
		t.Fatalf("config %+v", c)
	}
	_, err = parseFlags(nil, func(string) string { return "" }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "S3 server") {
		t.Fatalf("no S3 server: err %v", err)
	}
}

func TestProc(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	rss, err := readRSS(os.Getpid())
	if err != nil || rss < 1<<20 {
		t.Fatalf("readRSS = %d, %v", rss, err)
	}
	if _, err := readCPU(os.Getpid()); err != nil {
		t.Fatal(err)
	}
	if busy, err := readBusyCPU(); err != nil || busy <= 0 {
		t.Fatalf("readBusyCPU = %v, %v", busy, err)
	}
}
