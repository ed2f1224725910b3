package server

import (
	"io"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	t.Run("defaults", func(t *testing.T) {
		c, err := ParseConfig("serve", nil, env(), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if c.Listen != "127.0.0.1:8080" || c.DataDir != "./data" || c.Database != "sqlite:data/modelkeep.db" ||
			c.Blobs != "file:data/blobs" || c.MaxUploadSize != 64<<30 || c.PresignTTL != 5*time.Minute {
			t.Fatalf("defaults = %+v", c)
		}
	})
	t.Run("environment", func(t *testing.T) {
		c, err := ParseConfig("serve", nil, env(
			"MODELKEEP_LISTEN", "0.0.0.0:9000", "MODELKEEP_DATA_DIR", "/var/lib/mk",
			"MODELKEEP_DATABASE", "mysql://u:p@db:3306/mk", "MODELKEEP_BLOBS", "s3://b?endpoint=http://s3:7070",
			"MODELKEEP_MAX_UPLOAD_SIZE", "512MiB"), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if c.Listen != "0.0.0.0:9000" || c.Database != "mysql://u:p@db:3306/mk" || c.Blobs != "s3://b?endpoint=http://s3:7070" || c.MaxUploadSize != 512<<20 {
			t.Fatalf("from env = %+v", c)
		}
	})
	t.Run("flag beats environment", func(t *testing.T) {
		c, err := ParseConfig("serve", []string{"--listen", "127.0.0.1:1"}, env("MODELKEEP_LISTEN", "127.0.0.1:2"), io.Discard)
		if err != nil || c.Listen != "127.0.0.1:1" {
			t.Fatalf("listen = %q, err %v", c.Listen, err)
		}
	})
	t.Run("admission line", func(t *testing.T) {
		for _, tc := range []struct {
			value string
			want  int
		}{{"auto", 4 * runtime.GOMAXPROCS(0)}, {"off", 0}, {"3", 3}} {
			c, err := ParseConfig("serve", nil, env("MODELKEEP_MAX_CONCURRENT_REQUESTS", tc.value), io.Discard)
			if err != nil || c.MaxConcurrentRequests != tc.want || c.MaxQueueWait != 10*time.Second {
				t.Errorf("%s: %d requests at once, wait %s (%v); want %d, 10s", tc.value, c.MaxConcurrentRequests, c.MaxQueueWait, err, tc.want)
			}
		}
	})
	t.Run("rate limits", func(t *testing.T) {
		c, err := ParseConfig("serve", nil, env(), io.Discard)
		if err != nil || c.TokenRate != 50 || c.TokenBurst != 500 || c.AddressRate != 10 || c.AddressBurst != 100 ||
			!slices.Equal(c.RateLimitExemptRoles, []string{"admin"}) {
			t.Fatalf("defaults: %v/s %d, %v/s %d, exempt %v (%v)", c.TokenRate, c.TokenBurst, c.AddressRate, c.AddressBurst, c.RateLimitExemptRoles, err)
		}
		c, err = ParseConfig("serve", []string{"--rate-limit-per-address", "0", "--rate-limit-exempt-roles", "admin, auditor"},
			env("MODELKEEP_RATE_LIMIT_PER_TOKEN", "0.5", "MODELKEEP_RATE_LIMIT_TOKEN_BURST", "20"), io.Discard)
		if err != nil || c.TokenRate != 0.5 || c.TokenBurst != 20 || c.AddressRate != 0 || !slices.Equal(c.RateLimitExemptRoles, []string{"admin", "auditor"}) {
			t.Fatalf("set: %+v (%v)", c, err)
		}
		if c, err = ParseConfig("serve", []string{"--rate-limit-exempt-roles", "none"}, env(), io.Discard); err != nil || c.RateLimitExemptRoles != nil {
			t.Fatalf("none: %v (%v)", c.RateLimitExemptRoles, err)
		}
		for _, args := range [][]string{
			{"--rate-limit-per-token", "fast"}, {"--rate-limit-per-token", "-1"}, {"--rate-limit-per-token", "0.0001"},
			{"--rate-limit-per-token", "NaN"}, {"--rate-limit-token-burst", "0"}, {"--rate-limit-address-burst", "2000000"},
			{"--rate-limit-exempt-roles", "root"}, {"--rate-limit-exempt-roles", ""},
		} {
			if _, err := ParseConfig("serve", args, env(), io.Discard); err == nil {
				t.Errorf("%v accepted", args)
			}
		}
	})
	t.Run("queue wait within a short grace", func(t *testing.T) {
		for _, tc := range []struct {
			grace, want time.Duration
		}{{30 * time.Second, 10 * time.Second}, {5 * time.Second, 2500 * time.Millisecond}, {0, 10 * time.Second}} {
			c, err := ParseConfig("serve", []string{"--shutdown-grace", tc.grace.String()}, env(), io.Discard)
			if err != nil || c.MaxQueueWait != tc.want {
				t.Errorf("grace %s: wait %s (%v), want %s", tc.grace, c.MaxQueueWait, err, tc.want)
			}
		}
	})
	t.Run("browser sessions", func(t *testing.T) {
		c, err := ParseConfig("serve", nil, env(), io.Discard)
		if err != nil || c.SessionIdleTimeout != 30*time.Minute || c.SessionMaxAge != 12*time.Hour || c.OIDCScopes != "openid" || c.PublicURL != "" {
			t.Fatalf("session defaults = %+v, %v", c, err)
		}
		c, err = ParseConfig("serve", nil, env("MODELKEEP_OIDC_ISSUER", "https://idp.example", "MODELKEEP_OIDC_AUDIENCE", "mk",
			"MODELKEEP_OIDC_CLIENT_ID", "ui", "MODELKEEP_OIDC_CLIENT_SECRET", "s", "MODELKEEP_PUBLIC_URL", "https://models.example/",
			"MODELKEEP_SESSION_IDLE_TIMEOUT", "5m", "MODELKEEP_SESSION_MAX_AGE", "1h"), io.Discard)
		if err != nil || c.OIDCClientID != "ui" || c.OIDCClientSecret != "s" || c.PublicURL != "https://models.example/" ||
			c.SessionIdleTimeout != 5*time.Minute || c.SessionMaxAge != time.Hour {
			t.Fatalf("from env = %+v, %v", c, err)
		}
	})
	t.Run("data dir drives the defaults", func(t *testing.T) {
		c, err := ParseConfig("serve", []string{"--data-dir", "/srv/mk"}, env(), io.Discard)
		if err != nil || c.Database != "sqlite:/srv/mk/modelkeep.db" || c.Blobs != "file:/srv/mk/blobs" {
			t.Fatalf("config = %+v, err %v", c, err)
		}
	})
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"bad listen", []string{"--listen", "nowhere"}, "listen"},
		{"bad size", []string{"--max-upload-size", "lots"}, "size"},
		{"bad duration", []string{"--presign-ttl", "soon"}, "duration"},
		{"presign too long", []string{"--presign-ttl", "1000h"}, "presign"},
		{"short secret", []string{"--jwt-secret", "short"}, "32 bytes"},
		{"bad log format", []string{"--log-format", "xml"}, "log format"},
		{"stray argument", []string{"extra"}, "unexpected"},
		{"unknown flag", []string{"--nope"}, "nope"},
		{"bad concurrency", []string{"--max-concurrent-requests", "0"}, "auto, off or a number"},
		{"queue wait past the grace", []string{"--max-queue-wait", "30s", "--shutdown-grace", "30s"}, "shorter than the shutdown grace"},
		{"no queue wait", []string{"--max-queue-wait", "0s"}, "at least 1ms"},
		{"public url with a path", []string{"--public-url", "https://example.com/modelkeep"}, "served from the root"},
		{"public url not http", []string{"--public-url", "ftp://example.com"}, "http(s)://host"},
		{"client id without issuer", []string{"--oidc-client-id", "ui", "--public-url", "https://example.com"}, "needs the OIDC issuer"},
		{"client id without public url", []string{"--oidc-issuer", "https://idp.example", "--oidc-audience", "mk", "--oidc-client-id", "ui"}, "needs the public URL"},
		{"secret without client id", []string{"--oidc-client-secret", "s"}, "needs the OIDC client id"},
		{"idle timeout too short", []string{"--session-idle-timeout", "30s"}, "session idle timeout"},
		{"max age too long", []string{"--session-max-age", "1000h"}, "session max age"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			_, err := ParseConfig("serve", tc.args, env(), &out)
			if err == nil || !strings.Contains(err.Error()+out.String(), tc.want) {
				t.Fatalf("err = %v (output %q), want mention of %q", err, out.String(), tc.want)
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "1024": 1024, "1KiB": 1024, "5 MiB": 5 << 20, "64GiB": 64 << 30, "1TiB": 1 << 40} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "1.5GiB", "1PB", "GiB"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) accepted", in)
		}
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"mysql://user:secret@db:3306/mk": "mysql://user:xxxxx@db:3306/mk",
		"sqlite:data/modelkeep.db":       "sqlite:data/modelkeep.db",
		"s3://bucket?endpoint=http://s3": "s3://bucket?endpoint=http://s3",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
