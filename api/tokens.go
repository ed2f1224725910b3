package api

import (
	"context"
	"time"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/api/openapi"
)

func toTokenInfo(t modelkeep.Token) openapi.TokenInfo {
	roles := make([]openapi.Role, 0, len(t.Roles))
	for _, r := range t.Roles {
		roles = append(roles, openapi.Role(r))
	}
	models := t.Models
	if models == nil {
		models = []string{}
	}
	return openapi.TokenInfo{
		Id: t.ID, Subject: t.Subject, Roles: roles, Models: models, CreatedBy: t.CreatedBy,
		CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, RevokedAt: t.RevokedAt,
	}
}

func (h *Handlers) CreateToken(ctx context.Context, req openapi.CreateTokenRequestObject) (openapi.CreateTokenResponseObject, error) {
	in := modelkeep.TokenInput{Subject: req.Body.Subject, Models: deref(req.Body.Models)}
	for _, r := range req.Body.Roles {
		in.Roles = append(in.Roles, string(r))
	}
	if req.Body.ExpiresIn != nil {
		// Given, it is the lifetime: "0s" is refused, not the default.
		s := *req.Body.ExpiresIn
		ttl, err := time.ParseDuration(s)
		if err != nil {
			return nil, modelkeep.Errorf(modelkeep.ErrInvalid, "expires_in %q is not a duration such as 720h", s)
		}
		if err := modelkeep.CheckTokenTTL(ttl); err != nil {
			return nil, modelkeep.Errorf(modelkeep.ErrInvalid, "expires_in %q: %w", s, err)
		}
		in.TTL = ttl
	}
	t, signed, err := h.svc.CreateToken(ctx, in)
	if err != nil {
		return nil, err
	}
	info := toTokenInfo(t)
	return openapi.CreateToken201JSONResponse{Body: openapi.IssuedToken{
		Id: info.Id, Subject: info.Subject, Roles: info.Roles, Models: info.Models, CreatedBy: info.CreatedBy,
		CreatedAt: info.CreatedAt, ExpiresAt: info.ExpiresAt, Token: signed,
	}}, nil
}

func (h *Handlers) ListTokens(ctx context.Context, req openapi.ListTokensRequestObject) (openapi.ListTokensResponseObject, error) {
	tokens, next, err := h.svc.ListTokens(ctx, modelkeep.ListTokensInput{
		IncludeRevoked: deref(req.Params.IncludeRevoked),
		PageSize:       deref(req.Params.PageSize), PageToken: deref(req.Params.PageToken),
	})
	if err != nil {
		return nil, err
	}
	out := openapi.TokenList{Tokens: make([]openapi.TokenInfo, 0, len(tokens)), NextPageToken: next}
	for _, t := range tokens {
		out.Tokens = append(out.Tokens, toTokenInfo(t))
	}
	return openapi.ListTokens200JSONResponse{Body: out}, nil
}

func (h *Handlers) RevokeToken(ctx context.Context, req openapi.RevokeTokenRequestObject) (openapi.RevokeTokenResponseObject, error) {
	if err := h.svc.RevokeToken(ctx, req.Id); err != nil {
		return nil, err
	}
	return openapi.RevokeToken204Response{}, nil
}
