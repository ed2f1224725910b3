package auth

import (
	"context"
	"fmt"

	"github.com/golang-jwt/jwt/v5"

	"github.com/modelkeep/modelkeep"
)

// Defaults for the iss and aud claims of Modelkeep's own tokens.
const (
	DefaultIssuer   = "modelkeep"
	DefaultAudience = "modelkeep"
)

// claims are the claims of a Modelkeep token. roles and models mirror the
// token record for clients that want to read them; the verifier trusts only
// the record.
type claims struct {
	jwt.RegisteredClaims
	Roles  []string `json:"roles,omitempty"`
	Models []string `json:"models,omitempty"`
}

// Issuer signs Modelkeep tokens. It implements modelkeep.TokenSigner.
type Issuer struct {
	key      *Key
	issuer   string
	audience string
}

var _ modelkeep.TokenSigner = (*Issuer)(nil)

// NewIssuer returns an Issuer signing with key; an empty issuer or audience
// means DefaultIssuer or DefaultAudience.
func NewIssuer(key *Key, issuer, audience string) *Issuer {
	if issuer == "" {
		issuer = DefaultIssuer
	}
	if audience == "" {
		audience = DefaultAudience
	}
	return &Issuer{key: key, issuer: issuer, audience: audience}
}

// SignToken signs the token record t: sub, jti, iat = nbf = CreatedAt, exp =
// ExpiresAt, plus roles and models; the header's kid names the key.
func (i *Issuer) SignToken(ctx context.Context, t modelkeep.Token) (string, error) {
	switch {
	case t.ID == "":
		return "", modelkeep.Errorf(modelkeep.ErrInvalid, "token id is required")
	case t.Subject == "":
		return "", modelkeep.Errorf(modelkeep.ErrInvalid, "token subject is required")
	case t.CreatedAt.IsZero() || t.ExpiresAt.IsZero():
		return "", modelkeep.Errorf(modelkeep.ErrInvalid, "token creation and expiry times are required")
	case !t.ExpiresAt.After(t.CreatedAt):
		return "", modelkeep.Errorf(modelkeep.ErrInvalid, "token must expire after it is created")
	}
	c := claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    i.issuer,
			Subject:   t.Subject,
			Audience:  jwt.ClaimStrings{i.audience},
			ExpiresAt: jwt.NewNumericDate(t.ExpiresAt),
			NotBefore: jwt.NewNumericDate(t.CreatedAt),
			IssuedAt:  jwt.NewNumericDate(t.CreatedAt),
			ID:        t.ID,
		},
		Roles:  t.Roles,
		Models: t.Models,
	}
	tok := jwt.NewWithClaims(i.key.method(), c)
	tok.Header["kid"] = i.key.ID()
	s, err := tok.SignedString(i.key.signingKey())
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}
