package auth

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/modelkeep/modelkeep"
)

// OIDCConfig describes an external OpenID Connect identity provider whose
// access or ID tokens Modelkeep accepts.
type OIDCConfig struct {
	// Issuer is the provider's issuer URL (MODELKEEP_OIDC_ISSUER): tokens
	// whose iss equals it are verified against the keys published at
	// <Issuer>/.well-known/openid-configuration → jwks_uri.
	Issuer string
	// Audience (MODELKEEP_OIDC_AUDIENCE) must be among the token's aud.
	Audience string
	// RoleClaim names the claim that maps to roles (default "groups"); its
	// value may be a string or an array of strings.
	RoleClaim string
	// RoleMap maps a role-claim value to Modelkeep roles
	// (MODELKEEP_OIDC_ROLE_MAP, see ParseRoleMap).
	RoleMap map[string][]string
	// SubjectClaim names the claim that identifies the user (default "sub";
	// "preferred_username" or "email" read better in the audit log).
	SubjectClaim string
	// HTTPClient fetches discovery and JWKS documents (default: a client
	// with a 10s timeout).
	HTTPClient *http.Client
}

// OIDCSubjectPrefix starts the Subject of every identity-provider actor, so
// that "oidc:alice" can never be mistaken for a Modelkeep token's subject
// "alice".
const OIDCSubjectPrefix = "oidc:"

// oidcMethods are the algorithms accepted from an identity provider: the
// asymmetric ones providers use. HMAC is excluded (it would need a shared
// secret) and so is anything not listed.
var oidcMethods = []string{"RS256", "RS384", "RS512", "PS256", "ES256", "ES384"}

// ParseRoleMap parses MODELKEEP_OIDC_ROLE_MAP: comma-separated
// group=role pairs, e.g. "ml-admins=admin,ml-approvers=approver". A group may
// appear more than once to get several roles. The role is what follows the
// last "=", so group names may contain "=" but not ",". Empty entries are
// ignored; an unknown role is an error wrapping modelkeep.ErrInvalid.
func ParseRoleMap(s string) (map[string][]string, error) {
	m := make(map[string][]string)
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		i := strings.LastIndexByte(item, '=')
		if i < 0 {
			return nil, modelkeep.Errorf(modelkeep.ErrInvalid, "role map entry %q: want group=role", item)
		}
		group, role := strings.TrimSpace(item[:i]), strings.TrimSpace(item[i+1:])
		if group == "" {
			return nil, modelkeep.Errorf(modelkeep.ErrInvalid, "role map entry %q: empty group", item)
		}
		if !slices.Contains(modelkeep.Roles, role) {
			return nil, modelkeep.Errorf(modelkeep.ErrInvalid, "role map entry %q: unknown role %q: want one of %s", item, role, strings.Join(modelkeep.Roles, ", "))
		}
		if !slices.Contains(m[group], role) {
			m[group] = append(m[group], role)
		}
	}
	return m, nil
}

type oidcVerifier struct {
	cfg    OIDCConfig
	parser *jwt.Parser
	keys   *jwks
	leeway time.Duration
	now    func() time.Time
}

func newOIDCVerifier(cfg OIDCConfig, opts VerifierOptions) (*oidcVerifier, error) {
	u, err := url.Parse(cfg.Issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, modelkeep.Errorf(modelkeep.ErrInvalid, "oidc issuer %q: want an http(s) url", cfg.Issuer)
	}
	if cfg.Audience == "" {
		return nil, modelkeep.Errorf(modelkeep.ErrInvalid, "oidc audience is required with an oidc issuer")
	}
	if cfg.Issuer == opts.Issuer {
		return nil, modelkeep.Errorf(modelkeep.ErrInvalid, "oidc issuer must differ from modelkeep's own issuer %q", opts.Issuer)
	}
	// A copy: the caller's map may change later, ours is read concurrently.
	roleMap := make(map[string][]string, len(cfg.RoleMap))
	for group, roles := range cfg.RoleMap {
		for _, r := range roles {
			if !slices.Contains(modelkeep.Roles, r) {
				return nil, modelkeep.Errorf(modelkeep.ErrInvalid, "oidc role map: group %q: unknown role %q", group, r)
			}
		}
		roleMap[group] = slices.Clone(roles)
	}
	cfg.RoleMap = roleMap
	if cfg.RoleClaim == "" {
		cfg.RoleClaim = "groups"
	}
	if cfg.SubjectClaim == "" {
		cfg.SubjectClaim = "sub"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	return &oidcVerifier{
		cfg: cfg,
		parser: jwt.NewParser(
			jwt.WithValidMethods(oidcMethods),
			jwt.WithIssuer(cfg.Issuer),
			jwt.WithAudience(cfg.Audience),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(opts.Leeway),
			jwt.WithTimeFunc(opts.Now),
			jwt.WithStrictDecoding(),
		),
		keys:   newJWKS(cfg.Issuer, cfg.HTTPClient, opts.Now),
		leeway: opts.Leeway,
		now:    opts.Now,
	}, nil
}

func (o *oidcVerifier) verify(ctx context.Context, raw string) (*verified, error) {
	mc, err := o.parse(ctx, o.parser, raw)
	if err != nil {
		return nil, err
	}
	sub, err := o.subject(mc)
	if err != nil {
		return nil, err
	}
	t := &verified{oidc: true, subject: sub, roles: o.roles(mc[o.cfg.RoleClaim])}
	// Validation has already checked both claims' types.
	if exp, _ := mc.GetExpirationTime(); exp != nil {
		t.expiresAt = exp.Time
	}
	if nbf, _ := mc.GetNotBefore(); nbf != nil {
		t.notBefore = nbf.Time
	}
	return t, nil
}

// parse verifies a token of the provider with parser (which says which
// audience it must have) against the provider's keys.
func (o *oidcVerifier) parse(ctx context.Context, parser *jwt.Parser, raw string) (jwt.MapClaims, error) {
	mc := jwt.MapClaims{}
	tok, err := parser.ParseWithClaims(raw, mc, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, errMissingKid
		}
		k, err := o.keys.get(ctx, kid)
		if err != nil {
			return nil, err
		}
		if !k.allows(t.Method.Alg()) {
			return nil, errKeyMismatch
		}
		return k.key, nil
	})
	if err != nil {
		return nil, parseError(tok, err, oidcMethods)
	}
	return mc, nil
}

// subject is the prefixed subject of verified claims.
func (o *oidcVerifier) subject(mc jwt.MapClaims) (string, error) {
	sub, _ := mc[o.cfg.SubjectClaim].(string)
	if sub == "" {
		return "", unauthenticated("token has no subject")
	}
	return OIDCSubjectPrefix + sub, nil
}

// roles maps the role claim (a string or an array of strings; anything else
// counts as no groups) to the union of its mapped roles, in modelkeep.Roles
// order.
func (o *oidcVerifier) roles(claim any) []string {
	var groups []string
	switch c := claim.(type) {
	case string:
		groups = []string{c}
	case []any:
		for _, g := range c {
			if s, ok := g.(string); ok {
				groups = append(groups, s)
			}
		}
	}
	var roles []string
	for _, r := range modelkeep.Roles {
		for _, g := range groups {
			if slices.Contains(o.cfg.RoleMap[g], r) {
				roles = append(roles, r)
				break
			}
		}
	}
	return roles
}
