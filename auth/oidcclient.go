package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/modelkeep/modelkeep"
)

// OIDCClient is Modelkeep as an OpenID Connect relying party: the
// authorization-code flow of the web UI's sign-in. It shares the Verifier's
// identity provider: its keys (one JWKS cache), role map and subject claim.
type OIDCClient struct {
	o            *oidcVerifier
	clientID     string
	clientSecret string
	parser       *jwt.Parser // ID tokens: audience = the client id

	mu     sync.Mutex
	meta   providerMetadata
	loaded time.Time // zero until discovery succeeded once
}

// providerMetadata is the part of the discovery document the flow needs
// (OpenID Connect Discovery §3).
type providerMetadata struct {
	Issuer                string   `json:"issuer"`
	AuthorizationEndpoint string   `json:"authorization_endpoint"`
	TokenEndpoint         string   `json:"token_endpoint"`
	TokenAuthMethods      []string `json:"token_endpoint_auth_methods_supported"`
}

// IDToken is what a verified ID token establishes.
type IDToken struct {
	Subject   string   // OIDCSubjectPrefix + the subject claim
	Roles     []string // the role claim mapped through the role map
	Nonce     string
	ExpiresAt time.Time
}

// OIDCClient returns the relying party of the Verifier's identity provider
// with this client id; clientSecret may be empty for a public client,
// which PKCE alone protects. An error wrapping modelkeep.ErrInvalid when the
// Verifier has no identity provider or the client id is empty.
func (v *Verifier) OIDCClient(clientID, clientSecret string) (*OIDCClient, error) {
	if v.oidc == nil {
		return nil, modelkeep.Errorf(modelkeep.ErrInvalid, "an oidc client needs the identity provider's issuer and audience")
	}
	if clientID == "" {
		return nil, modelkeep.Errorf(modelkeep.ErrInvalid, "oidc client id is required")
	}
	o := v.oidc
	return &OIDCClient{
		o: o, clientID: clientID, clientSecret: clientSecret,
		parser: jwt.NewParser(
			jwt.WithValidMethods(oidcMethods),
			jwt.WithIssuer(o.cfg.Issuer),
			jwt.WithAudience(clientID),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(o.leeway),
			jwt.WithTimeFunc(o.now),
			jwt.WithStrictDecoding(),
		),
	}, nil
}

// AuthorizationEndpoint is the provider's authorization endpoint.
func (c *OIDCClient) AuthorizationEndpoint(ctx context.Context) (string, error) {
	m, err := c.metadata(ctx)
	if err != nil {
		return "", err
	}
	return m.AuthorizationEndpoint, nil
}

// metadata returns the discovery document, fetched at most once an hour
// (jwksMaxAge); while the provider cannot be reached a document fetched
// before is used. An error wrapping modelkeep.ErrUnavailable when there is
// none.
func (c *OIDCClient) metadata(ctx context.Context) (providerMetadata, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.o.now()
	if !c.loaded.IsZero() && now.Sub(c.loaded) < jwksMaxAge {
		return c.meta, nil
	}
	m, err := c.discover(ctx)
	if err != nil {
		if !c.loaded.IsZero() {
			return c.meta, nil
		}
		return providerMetadata{}, modelkeep.Errorf(modelkeep.ErrUnavailable, "identity provider unavailable: %w", err)
	}
	c.meta, c.loaded = m, now
	return m, nil
}

func (c *OIDCClient) discover(ctx context.Context) (providerMetadata, error) {
	var m providerMetadata
	issuer := c.o.cfg.Issuer
	if err := getJSON(ctx, c.o.cfg.HTTPClient, strings.TrimSuffix(issuer, "/")+"/.well-known/openid-configuration", &m); err != nil {
		return m, fmt.Errorf("oidc discovery: %w", err)
	}
	if m.Issuer != issuer {
		return m, fmt.Errorf("oidc discovery: issuer %q does not match %q", m.Issuer, issuer)
	}
	for name, u := range map[string]string{"authorization_endpoint": m.AuthorizationEndpoint, "token_endpoint": m.TokenEndpoint} {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			return m, fmt.Errorf("oidc discovery: %s %q is not an http(s) url", name, u)
		}
	}
	return m, nil
}

// Redeem exchanges an authorization code and its PKCE verifier at the token
// endpoint for an ID token and verifies it: signature by the provider's
// keys, issuer, audience (the client id, and azp when there are several),
// expiry. The caller compares the nonce. Errors wrap
// modelkeep.ErrUnauthenticated when the provider refuses the code or the
// token is not acceptable, modelkeep.ErrUnavailable when the provider
// cannot be reached.
func (c *OIDCClient) Redeem(ctx context.Context, code, verifier, redirectURI string) (IDToken, error) {
	m, err := c.metadata(ctx)
	if err != nil {
		return IDToken{}, err
	}
	raw, err := c.exchange(ctx, m, code, verifier, redirectURI)
	if err != nil {
		return IDToken{}, err
	}
	return c.verifyIDToken(ctx, raw)
}

// exchange is the token request of RFC 6749 §4.1.3 with the code verifier
// of RFC 7636 §4.5. A confidential client authenticates with HTTP Basic
// (client_secret_basic, which every server must support) unless the
// provider lists only client_secret_post.
func (c *OIDCClient) exchange(ctx context.Context, m providerMetadata, code, verifier, redirectURI string) (string, error) {
	form := url.Values{
		"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {redirectURI}, "code_verifier": {verifier},
	}
	basic := false
	switch {
	case c.clientSecret == "":
		form.Set("client_id", c.clientID)
	case !slices.Contains(m.TokenAuthMethods, "client_secret_basic") && slices.Contains(m.TokenAuthMethods, "client_secret_post"):
		form.Set("client_id", c.clientID)
		form.Set("client_secret", c.clientSecret)
	default:
		basic = true
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.TokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", modelkeep.Errorf(modelkeep.ErrUnavailable, "identity provider token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if basic {
		// RFC 6749 §2.3.1: both form-encoded before Basic encoding.
		req.SetBasicAuth(url.QueryEscape(c.clientID), url.QueryEscape(c.clientSecret))
	}
	resp, err := c.o.cfg.HTTPClient.Do(req)
	if err != nil {
		return "", modelkeep.Errorf(modelkeep.ErrUnavailable, "identity provider token endpoint unreachable: %w", err)
	}
	defer resp.Body.Close()
	var body struct {
		IDToken string `json:"id_token"`
		Error   string `json:"error"`
	}
	decodeErr := json.NewDecoder(io.LimitReader(resp.Body, jwksMaxBody)).Decode(&body)
	switch {
	case resp.StatusCode >= 500:
		return "", modelkeep.Errorf(modelkeep.ErrUnavailable, "identity provider token endpoint answered status %d", resp.StatusCode)
	case resp.StatusCode != http.StatusOK:
		return "", unauthenticated(fmt.Sprintf("the identity provider refused the code (%s)", oauthErrorCode(body.Error, resp.StatusCode)))
	case decodeErr != nil || body.IDToken == "":
		return "", unauthenticated("the identity provider's token response has no id_token")
	}
	return body.IDToken, nil
}

// oauthCodeRE is the shape of an OAuth error code (RFC 6749 §5.2 allows
// printable ASCII; the registered ones are lowercase words).
var oauthCodeRE = regexp.MustCompile(`^[a-z_]{1,64}$`)

// oauthErrorCode names a token endpoint's refusal for a message: its error
// code when it has the usual shape, else the status.
func oauthErrorCode(code string, status int) string {
	if oauthCodeRE.MatchString(code) {
		return code
	}
	return fmt.Sprintf("status %d", status)
}

// verifyIDToken checks an ID token (OpenID Connect Core §3.1.3.7) and reads
// who it names.
func (c *OIDCClient) verifyIDToken(ctx context.Context, raw string) (IDToken, error) {
	mc, err := c.o.parse(ctx, c.parser, raw)
	if err != nil {
		return IDToken{}, err
	}
	sub, err := c.o.subject(mc)
	if err != nil {
		return IDToken{}, err
	}
	// With several audiences the token must name this client as its
	// authorized party.
	if aud, _ := mc.GetAudience(); len(aud) > 1 {
		if azp, _ := mc["azp"].(string); azp != c.clientID {
			return IDToken{}, unauthenticated("the ID token was issued to another client")
		}
	}
	t := IDToken{Subject: sub, Roles: c.o.roles(mc[c.o.cfg.RoleClaim])}
	t.Nonce, _ = mc["nonce"].(string)
	if exp, _ := mc.GetExpirationTime(); exp != nil {
		t.ExpiresAt = exp.Time
	}
	return t, nil
}
