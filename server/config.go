package server

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/internal/ratelimit"
)

// Config is everything `modelkeep serve` (and the other sub-commands that
// open the stores) reads. Every field has a flag and an environment twin.
type Config struct {
	Listen        string
	DataDir       string
	Database      string // sqlite:<path> or mysql://user:pass@host:port/db
	Blobs         string // file:<dir> or s3://bucket?endpoint=...
	JWTSecret     string
	JWTKeyFile    string
	LogFormat     string // text or json
	LogLevel      string
	MaxUploadSize int64
	PresignTTL    time.Duration
	ShutdownGrace time.Duration
	// OrphanSweepInterval is how often blobs that no row references are
	// looked for; OrphanMinAge is how old such a blob must be to be removed
	// (younger ones may belong to an upload still in flight).
	OrphanSweepInterval time.Duration
	OrphanMinAge        time.Duration
	// UploadPartSize is the smallest part size of resumable uploads;
	// UploadExpiry how long an upload session stays open after its last
	// part (and how long a finished one is kept).
	UploadPartSize int64
	UploadExpiry   time.Duration
	WebUIDir       string // serve the UI from this directory instead of the embedded copy (development)
	// TokenCacheTTL bounds how long another process's token revocation may
	// take to reach this one (revocations through this process are at once).
	TokenCacheTTL time.Duration
	// An external identity provider whose tokens are accepted too.
	OIDCIssuer    string
	OIDCAudience  string
	OIDCRoleClaim string
	OIDCRoleMap   string // group=role,group=role
	// Sign-in at the identity provider for the web UI (authorization code
	// with PKCE): the client registered there, its secret (empty for a
	// public client) and the scopes asked for.
	OIDCClientID     string
	OIDCClientSecret string
	OIDCScopes       string
	// PublicURL is the server's external base URL (https://models.example):
	// the OIDC redirect URI, the origin browser changes must come from, and
	// whether cookies are Secure. Empty: the request's own Host.
	PublicURL string
	// Browser sessions end after SessionIdleTimeout without a request and
	// SessionMaxAge after sign-in at the latest.
	SessionIdleTimeout time.Duration
	SessionMaxAge      time.Duration
	// The audit log (server/audit.go): how long events are kept (at least
	// 184 days), how often the chain head is signed, and the signing key.
	AuditRetention          time.Duration
	AuditCheckpointInterval time.Duration
	AuditKeyFile            string
	// MaxConcurrentRequests is how many API requests run at once, the
	// others waiting their turn in arrival order for up to MaxQueueWait
	// (admission.go); 0 turns the line off.
	MaxConcurrentRequests int
	MaxQueueWait          time.Duration
	autoQueueWait         bool // MaxQueueWait is auto: Validate sets it
	// Request budgets (ratelimit.go): a token may make TokenRate requests
	// per second on average and TokenBurst at once; a client address,
	// AddressRate and AddressBurst of the requests that carry no valid
	// token. A rate of 0 turns that budget off. Tokens holding one of
	// RateLimitExemptRoles have no budget.
	TokenRate            float64
	TokenBurst           int
	AddressRate          float64
	AddressBurst         int
	RateLimitExemptRoles []string
	// now is the clock of browser sessions (time.Now when nil); only tests
	// set it (export_test.go).
	now func() time.Time
	// Verbose logs each migration applied (serve and migrate --verbose);
	// otherwise one line sums them up.
	Verbose bool
	// given holds the settings set by flag on the command line, by name
	// (for the hint that repeats them: firstTokenHint).
	given []givenFlag
}

// givenFlag is a setting given on the command line.
type givenFlag struct{ name, value string }

// setting describes one configuration knob: its flag, its environment twin
// and where it goes in Config.
type setting struct {
	flag, env, usage string
	def              string
	set              func(c *Config, v string) error
}

func str(p func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *p(c) = v; return nil }
}

func dur(p func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("invalid duration %q", v)
		}
		*p(c) = d
		return nil
	}
}

var settings = []setting{
	{"listen", "MODELKEEP_LISTEN", "address to serve on", "127.0.0.1:8080", str(func(c *Config) *string { return &c.Listen })},
	{"data-dir", "MODELKEEP_DATA_DIR", "where the embedded defaults keep their files", "./data", str(func(c *Config) *string { return &c.DataDir })},
	{"database", "MODELKEEP_DATABASE", "sqlite:<path> or mysql://user:pass@host:port/dbname (default sqlite:<data-dir>/modelkeep.db)", "", str(func(c *Config) *string { return &c.Database })},
	{"blobs", "MODELKEEP_BLOBS", "file:<dir> or s3://bucket?endpoint=http://host:port&region=us-east-1&path_style=true (default file:<data-dir>/blobs)", "", str(func(c *Config) *string { return &c.Blobs })},
	{"jwt-secret", "MODELKEEP_JWT_SECRET", "HMAC secret for HS256 tokens (prefer the environment variable: flags show up in ps)", "", str(func(c *Config) *string { return &c.JWTSecret })},
	{"jwt-key-file", "MODELKEEP_JWT_KEY_FILE", "Ed25519 private key (PEM) for EdDSA tokens (default: generated in the data dir)", "", str(func(c *Config) *string { return &c.JWTKeyFile })},
	{"log-format", "MODELKEEP_LOG_FORMAT", "log format: text or json", "text", str(func(c *Config) *string { return &c.LogFormat })},
	{"log-level", "MODELKEEP_LOG_LEVEL", "log level: debug, info, warn or error", "info", str(func(c *Config) *string { return &c.LogLevel })},
	{"max-upload-size", "MODELKEEP_MAX_UPLOAD_SIZE", "largest accepted file upload in bytes (suffixes KiB, MiB, GiB, TiB allowed)", "64GiB", func(c *Config, v string) error {
		n, err := ParseSize(v)
		if err != nil {
			return err
		}
		c.MaxUploadSize = n
		return nil
	}},
	{"presign-ttl", "MODELKEEP_PRESIGN_TTL", "lifetime of presigned URLs (downloads, and parts of resumable uploads)", "5m", dur(func(c *Config) *time.Duration { return &c.PresignTTL })},
	{"shutdown-grace", "MODELKEEP_SHUTDOWN_GRACE", "how long in-flight requests may take to finish at shutdown", "30s", dur(func(c *Config) *time.Duration { return &c.ShutdownGrace })},
	{"orphan-sweep-interval", "MODELKEEP_ORPHAN_SWEEP_INTERVAL", "how often to remove blobs no file references (0 disables)", "1h", dur(func(c *Config) *time.Duration { return &c.OrphanSweepInterval })},
	{"orphan-min-age", "MODELKEEP_ORPHAN_MIN_AGE", "how old an unreferenced blob must be before the sweep removes it", "24h", dur(func(c *Config) *time.Duration { return &c.OrphanMinAge })},
	{"upload-part-size", "MODELKEEP_UPLOAD_PART_SIZE", "part size of resumable uploads (5MiB to 5GiB; larger files get larger parts, to fit in 10,000)", "16MiB", func(c *Config, v string) error {
		n, err := ParseSize(v)
		if err != nil {
			return err
		}
		c.UploadPartSize = n
		return nil
	}},
	{"upload-expiry", "MODELKEEP_UPLOAD_EXPIRY", "how long a resumable upload stays open after its last part before the sweep aborts it", "24h", dur(func(c *Config) *time.Duration { return &c.UploadExpiry })},
	{"oidc-issuer", "MODELKEEP_OIDC_ISSUER", "issuer URL of an OpenID Connect identity provider whose tokens are accepted", "", str(func(c *Config) *string { return &c.OIDCIssuer })},
	{"oidc-audience", "MODELKEEP_OIDC_AUDIENCE", "audience the identity provider's tokens must carry", "", str(func(c *Config) *string { return &c.OIDCAudience })},
	{"oidc-role-claim", "MODELKEEP_OIDC_ROLE_CLAIM", "claim of identity-provider tokens that lists the groups mapped to roles", "groups", str(func(c *Config) *string { return &c.OIDCRoleClaim })},
	{"oidc-role-map", "MODELKEEP_OIDC_ROLE_MAP", "group-to-role map, e.g. ml-admins=admin,ml-approvers=approver", "", str(func(c *Config) *string { return &c.OIDCRoleMap })},
	{"oidc-client-id", "MODELKEEP_OIDC_CLIENT_ID", "client id registered at the identity provider for the web UI's sign-in (authorization code with PKCE; needs the OIDC issuer and the public URL)", "", str(func(c *Config) *string { return &c.OIDCClientID })},
	{"oidc-client-secret", "MODELKEEP_OIDC_CLIENT_SECRET", "the client's secret, for a confidential client (prefer the environment variable: flags show up in ps); a public client uses PKCE alone", "", str(func(c *Config) *string { return &c.OIDCClientSecret })},
	{"oidc-scopes", "MODELKEEP_OIDC_SCOPES", "scopes the web UI's sign-in asks the identity provider for, space-separated (openid is always asked for)", "openid", str(func(c *Config) *string { return &c.OIDCScopes })},
	{"public-url", "MODELKEEP_PUBLIC_URL", "the server's external base URL, e.g. https://models.example.com: the OIDC redirect URI, the origin browser changes must come from, and Secure cookies when https (default: the request's own host)", "", str(func(c *Config) *string { return &c.PublicURL })},
	{"session-idle-timeout", "MODELKEEP_SESSION_IDLE_TIMEOUT", "a browser session ends after this long without a request", "30m", dur(func(c *Config) *time.Duration { return &c.SessionIdleTimeout })},
	{"session-max-age", "MODELKEEP_SESSION_MAX_AGE", "a browser session ends this long after sign-in at the latest (and never after the token it was made from)", "12h", dur(func(c *Config) *time.Duration { return &c.SessionMaxAge })},
	{"token-cache-ttl", "MODELKEEP_TOKEN_CACHE_TTL", "how long token records are cached; a revocation made through another server process sharing the database takes effect within it (0: look up every request)", "1s", dur(func(c *Config) *time.Duration { return &c.TokenCacheTTL })},
	{"webui-dir", "MODELKEEP_WEBUI_DIR", "serve the web UI from this directory instead of the embedded copy (development)", "", str(func(c *Config) *string { return &c.WebUIDir })},
	{"audit-retention", "MODELKEEP_AUDIT_RETENTION", "how long audit events are kept before 'modelkeep audit prune' may remove them, in days (184d) or as a duration; at least 184d (EU AI Act Art. 19: six months)", "184d", setAuditRetention},
	{"audit-checkpoint-interval", "MODELKEEP_AUDIT_CHECKPOINT_INTERVAL", "how often to sign a checkpoint of the audit chain head when it moved (0 disables)", "15m", setAuditCheckpointInterval},
	{"max-concurrent-requests", "MODELKEEP_MAX_CONCURRENT_REQUESTS", "how many API requests run at once; the others wait their turn in arrival order (uploads, downloads and exports are not counted): auto (4 per CPU), a number, or off", "auto", setMaxConcurrent},
	{"max-queue-wait", "MODELKEEP_MAX_QUEUE_WAIT", "how long an API request may wait for its turn before it is answered 503 with Retry-After: auto (10s, at most half the shutdown grace) or a duration shorter than the shutdown grace", "auto", setMaxQueueWait},
	{"rate-limit-per-token", "MODELKEEP_RATE_LIMIT_PER_TOKEN", "requests per second a token may make on average, beyond its burst; answered 429 with Retry-After over it (0: no per-token budget)", "50", rate(func(c *Config) *float64 { return &c.TokenRate })},
	{"rate-limit-token-burst", "MODELKEEP_RATE_LIMIT_TOKEN_BURST", "requests a token may make at once", "500", burst(func(c *Config) *int { return &c.TokenBurst })},
	{"rate-limit-per-address", "MODELKEEP_RATE_LIMIT_PER_ADDRESS", "requests per second a client address may make on average, beyond its burst, without a valid token (none, or refused); IPv6 addresses count per /64 (0: no per-address budget)", "10", rate(func(c *Config) *float64 { return &c.AddressRate })},
	{"rate-limit-address-burst", "MODELKEEP_RATE_LIMIT_ADDRESS_BURST", "requests a client address may make at once without a valid token", "100", burst(func(c *Config) *int { return &c.AddressBurst })},
	{"rate-limit-exempt-roles", "MODELKEEP_RATE_LIMIT_EXEMPT_ROLES", "tokens holding one of these roles (comma-separated) have no budget; none for none", "admin", setExemptRoles},
	{"audit-key-file", "MODELKEEP_AUDIT_KEY_FILE", "Ed25519 private key (PEM) that signs audit checkpoints and exports (default: the JWT key when it is Ed25519, else a key generated in <data-dir>/audit-key)", "", str(func(c *Config) *string { return &c.AuditKeyFile })},
}

// rate reads a request rate per second: 0 (off), or from
// ratelimit.MinRate to ratelimit.MaxRate.
func rate(p func(*Config) *float64) func(*Config, string) error {
	return func(c *Config, v string) error {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || !(r == 0 || r >= ratelimit.MinRate && r <= ratelimit.MaxRate) { // NaN too
			return fmt.Errorf("invalid rate %q: want 0 (off) or %g to %g requests per second", v, ratelimit.MinRate, ratelimit.MaxRate)
		}
		*p(c) = r
		return nil
	}
}

// burst reads a burst: 1 to ratelimit.MaxBurst requests.
func burst(p func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > ratelimit.MaxBurst {
			return fmt.Errorf("invalid burst %q: want 1 to %d requests", v, ratelimit.MaxBurst)
		}
		*p(c) = n
		return nil
	}
}

// setExemptRoles reads roles, comma-separated, or none.
func setExemptRoles(c *Config, v string) error {
	c.RateLimitExemptRoles = nil
	if strings.TrimSpace(v) == "none" {
		return nil
	}
	for r := range strings.SplitSeq(v, ",") {
		r = strings.TrimSpace(r)
		if !slices.Contains(modelkeep.Roles, r) {
			return fmt.Errorf("invalid role %q: want roles among %s, comma-separated, or none", r, strings.Join(modelkeep.Roles, ", "))
		}
		c.RateLimitExemptRoles = append(c.RateLimitExemptRoles, r)
	}
	return nil
}

// setMaxConcurrent reads auto, off or a positive number.
func setMaxConcurrent(c *Config, v string) error {
	switch v {
	case "auto":
		c.MaxConcurrentRequests = 4 * runtime.GOMAXPROCS(0)
	case "off":
		c.MaxConcurrentRequests = 0
	default:
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100_000 {
			return fmt.Errorf("invalid value %q: want auto, off or a number from 1 to 100000", v)
		}
		c.MaxConcurrentRequests = n
	}
	return nil
}

// defaultQueueWait is the auto max-queue-wait, unless the shutdown grace
// is shorter than twice as much.
const defaultQueueWait = 10 * time.Second

func setMaxQueueWait(c *Config, v string) error {
	c.autoQueueWait = v == "auto"
	if c.autoQueueWait {
		return nil
	}
	return dur(func(c *Config) *time.Duration { return &c.MaxQueueWait })(c, v)
}

// settingDefault is the default of the setting whose flag is name.
func settingDefault(name string) string {
	for _, s := range settings {
		if s.flag == name {
			return s.def
		}
	}
	panic("no setting " + name)
}

// EnvVars lists the environment variables the server reads: the settings'
// in flag order, then MODELKEEP_VERBOSE.
func EnvVars() []string {
	out := make([]string, 0, len(settings)+1)
	for _, s := range settings {
		out = append(out, s.env)
	}
	return append(out, verboseEnv)
}

// The settings each command other than serve reads, which its help shows
// (serve's shows them all). Every command accepts all of serve's flags and
// variables, so that one configuration serves them all; the others do
// nothing for it.
var (
	migrateSettings = []string{"data-dir", "database", "log-format", "log-level"}
	tokenSettings   = []string{"data-dir", "database", "blobs", "jwt-secret", "jwt-key-file", "audit-key-file", "log-format", "log-level"}
	pruneSettings   = []string{"data-dir", "database", "jwt-secret", "jwt-key-file", "audit-key-file", "audit-retention", "log-format", "log-level"}
)

// verboseEnv is the environment twin of serve's and migrate's --verbose.
const verboseEnv = "MODELKEEP_VERBOSE"

// configUsage heads the -h output of the commands ParseConfig reads.
var configUsage = map[string]string{
	"serve": `Usage: modelkeep serve [flags]

Applies pending database migrations, then serves the API and the web UI
until interrupted. With no configuration at all it keeps its data in ./data
(SQLite and local files) and listens on 127.0.0.1:8080.
`,
	"migrate": `Usage: modelkeep migrate [flags]

Applies pending database migrations and exits, printing one summary line.
`,
}

// ParseConfig reads the flags of command name ("serve" or "migrate") from
// args, falling back to the environment (via getenv) and then to defaults: a
// flag beats its variable, which beats the default. For -h it prints the
// command's help to usage and returns flag.ErrHelp.
func ParseConfig(name string, args []string, getenv func(string) string, usage io.Writer) (Config, error) {
	fs := newFlagSet(name)
	var shown []string // serve: every setting
	if name == "migrate" {
		shown = migrateSettings
	}
	verbose, err := envBool(getenv, verboseEnv)
	if err != nil {
		return Config{}, err
	}
	fs.BoolVar(&verbose, "verbose", verbose, "log each database migration as it is applied, not just their number [$"+verboseEnv+"]")
	c, err := parseConfig(fs, args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		printUsage(usage, fs, configUsage[name], shown)
	}
	c.Verbose = verbose
	return c, err
}

// envBool reads a boolean environment variable; unset is false.
func envBool(getenv func(string) string, name string) (bool, error) {
	v := getenv(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("$%s: invalid boolean %q", name, v)
	}
	return b, nil
}

// parseConfig registers the configuration flags on fs (which may carry
// flags of its own, such as token create's), parses args and validates.
func parseConfig(fs *flag.FlagSet, args []string, getenv func(string) string) (Config, error) {
	var c Config
	values := make([]*string, len(settings))
	for i, s := range settings {
		def := s.def
		if v := getenv(s.env); v != "" {
			def = v
		}
		values[i] = fs.String(s.flag, def, fmt.Sprintf("%s [$%s]", s.usage, s.env))
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	for i, s := range settings {
		if *values[i] == "" && s.def == "" {
			continue
		}
		if err := s.set(&c, *values[i]); err != nil {
			return Config{}, fmt.Errorf("-%s / $%s: %w", s.flag, s.env, err)
		}
	}
	fs.Visit(func(f *flag.Flag) {
		if isSetting(f.Name) {
			c.given = append(c.given, givenFlag{f.Name, f.Value.String()})
		}
	})
	return c, c.Validate()
}

// isSetting reports whether name is the flag of a configuration setting.
func isSetting(name string) bool {
	return slices.ContainsFunc(settings, func(s setting) bool { return s.flag == name })
}

// Validate checks the values that can be checked without I/O and fills the
// defaults derived from the data dir.
func (c *Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("listen address %q: %w", c.Listen, err))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("data dir must not be empty"))
	}
	if c.Database == "" {
		c.Database = "sqlite:" + filepath.Join(c.DataDir, "modelkeep.db")
	}
	if c.Blobs == "" {
		c.Blobs = "file:" + filepath.Join(c.DataDir, "blobs")
	}
	if c.JWTSecret != "" && c.JWTKeyFile != "" {
		errs = append(errs, errors.New("set either the JWT secret or the JWT key file, not both"))
	}
	if c.JWTSecret != "" && len(c.JWTSecret) < 32 {
		errs = append(errs, errors.New("the JWT secret must be at least 32 bytes"))
	}
	if (c.OIDCIssuer == "") != (c.OIDCAudience == "") {
		errs = append(errs, errors.New("set both the OIDC issuer and the OIDC audience, or neither"))
	}
	errs = append(errs, c.validateSessions()...)
	switch c.LogFormat {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("log format %q: want text or json", c.LogFormat))
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log level %q: want debug, info, warn or error", c.LogLevel))
	}
	if c.MaxUploadSize <= 0 {
		errs = append(errs, errors.New("max upload size must be positive"))
	}
	if c.PresignTTL < time.Second || c.PresignTTL > 7*24*time.Hour {
		errs = append(errs, fmt.Errorf("presign ttl %s: want between 1s and 168h", c.PresignTTL))
	}
	if c.TokenCacheTTL > time.Minute {
		errs = append(errs, fmt.Errorf("token cache ttl %s: at most 1m, or revocations would linger", c.TokenCacheTTL))
	}
	if c.autoQueueWait {
		// Within the grace by default, so that a short grace set before
		// the line existed still starts; an explicit wait is checked.
		c.MaxQueueWait, c.autoQueueWait = defaultQueueWait, false
		if c.ShutdownGrace > 0 {
			c.MaxQueueWait = min(c.MaxQueueWait, c.ShutdownGrace/2)
		}
	}
	if c.MaxConcurrentRequests > 0 && c.MaxQueueWait < time.Millisecond {
		errs = append(errs, fmt.Errorf("max queue wait %s: at least 1ms", c.MaxQueueWait))
	}
	if c.MaxConcurrentRequests > 0 && c.ShutdownGrace > 0 && c.MaxQueueWait >= c.ShutdownGrace {
		// Requests still in line at shutdown must get their turn within
		// the grace, or they are cut off unanswered.
		errs = append(errs, fmt.Errorf("max queue wait %s: must be shorter than the shutdown grace %s", c.MaxQueueWait, c.ShutdownGrace))
	}
	if c.UploadPartSize < 5<<20 || c.UploadPartSize > 5<<30 {
		errs = append(errs, fmt.Errorf("upload part size %d: want 5MiB to 5GiB", c.UploadPartSize))
	}
	if c.UploadExpiry < time.Second {
		errs = append(errs, fmt.Errorf("upload expiry %s: at least 1s", c.UploadExpiry))
	}
	if c.OrphanSweepInterval < 0 || c.OrphanMinAge < 0 || c.ShutdownGrace < 0 || c.TokenCacheTTL < 0 {
		errs = append(errs, errors.New("durations must not be negative"))
	}
	return errors.Join(errs...)
}

// validateSessions checks the browser sign-in's settings.
func (c *Config) validateSessions() []error {
	var errs []error
	if c.PublicURL != "" {
		if _, err := ParsePublicURL(c.PublicURL); err != nil {
			errs = append(errs, err)
		}
	}
	switch {
	case c.OIDCClientID != "" && c.OIDCIssuer == "":
		errs = append(errs, errors.New("the OIDC client id needs the OIDC issuer and audience"))
	case c.OIDCClientID != "" && c.PublicURL == "":
		errs = append(errs, errors.New("the OIDC client id needs the public URL (the redirect URI registered at the identity provider is <public-url>/api/v1/session/oidc/callback)"))
	case c.OIDCClientSecret != "" && c.OIDCClientID == "":
		errs = append(errs, errors.New("the OIDC client secret needs the OIDC client id"))
	}
	if c.SessionIdleTimeout < time.Minute || c.SessionIdleTimeout > 24*time.Hour {
		errs = append(errs, fmt.Errorf("session idle timeout %s: want between 1m and 24h", c.SessionIdleTimeout))
	}
	if c.SessionMaxAge < time.Minute || c.SessionMaxAge > 30*24*time.Hour {
		errs = append(errs, fmt.Errorf("session max age %s: want between 1m and 720h", c.SessionMaxAge))
	}
	return errs
}

// ParsePublicURL checks a public URL: http or https, a host, and nothing
// after it but an optional "/" (Modelkeep serves from the root of its
// origin: its cookies, redirects and the UI's paths assume it).
func ParsePublicURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return nil, fmt.Errorf("public url %q: %w", s, err)
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "":
		return nil, fmt.Errorf("public url %q: want http(s)://host[:port]", s)
	case u.User != nil, u.RawQuery != "", u.Fragment != "", u.Path != "" && u.Path != "/":
		return nil, fmt.Errorf("public url %q: want just the scheme, host and port (the server is served from the root)", s)
	}
	return u, nil
}

// ParseSize reads a byte count such as 1048576, 512MiB or 64GiB.
func ParseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}
	mult := int64(1)
	num := strings.TrimSpace(s)
	for _, u := range units {
		if strings.HasSuffix(num, u.suffix) {
			mult, num = u.mult, strings.TrimSpace(strings.TrimSuffix(num, u.suffix))
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	return n * mult, nil
}
