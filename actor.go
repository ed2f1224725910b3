package modelkeep

import (
	"context"
	"path"
	"slices"
)

// Roles. admin may do everything; the others are listed per operation in
// openapi.yaml (x-roles).
const (
	RoleAdmin     = "admin"
	RolePublisher = "publisher"
	RoleApprover  = "approver"
	RoleDeployer  = "deployer"
	RoleAuditor   = "auditor"
)

// Roles lists every role.
var Roles = []string{RoleAdmin, RolePublisher, RoleApprover, RoleDeployer, RoleAuditor}

// Actor is who performs a call: a person or a service token.
type Actor struct {
	Subject string
	Roles   []string
	// Models, when not empty, restricts the actor to models whose names
	// match one of these glob patterns (path.Match syntax: fraud-*).
	Models []string
	// TokenID is the jti of a Modelkeep token ("" for identity-provider
	// tokens and in-process callers).
	TokenID string
}

// HasAnyRole reports whether the actor is admin or holds one of roles.
func (a Actor) HasAnyRole(roles ...string) bool {
	for _, r := range a.Roles {
		if r == RoleAdmin || slices.Contains(roles, r) {
			return true
		}
	}
	return false
}

// DownloadsReleasedOnly reports whether the actor may download released
// versions only (CheckReleased): a deployer, or any role that neither
// publishes, approves nor audits.
func (a Actor) DownloadsReleasedOnly() bool {
	return !a.HasAnyRole(RolePublisher, RoleApprover, RoleAuditor)
}

// CanAccessModel reports whether the actor's model scope covers name.
func (a Actor) CanAccessModel(name string) bool {
	if len(a.Models) == 0 {
		return true
	}
	for _, p := range a.Models {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}

// ValidateModelPattern checks a model scope pattern: a name with * and ?
// wildcards.
func ValidateModelPattern(p string) error {
	if p == "" || len(p) > 128 {
		return Errorf(ErrInvalid, "model pattern %q: 1 to 128 characters", p)
	}
	for _, r := range p {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' || r == '*' || r == '?') {
			return Errorf(ErrInvalid, "model pattern %q: only a-z 0-9 . _ - and the wildcards * ?", p)
		}
	}
	return nil
}

// ValidateRoles checks that roles is a non-empty list of known roles.
func ValidateRoles(roles []string) error {
	if len(roles) == 0 {
		return Errorf(ErrInvalid, "at least one role is required")
	}
	for _, r := range roles {
		if !slices.Contains(Roles, r) {
			return Errorf(ErrInvalid, "unknown role %q: want one of admin, publisher, approver, deployer, auditor", r)
		}
	}
	return nil
}

// checkListScope: a token restricted to some models lists one model at a
// time, and only one it may see.
func checkListScope(ctx context.Context, model string) error {
	a, ok := ActorFrom(ctx)
	switch {
	case !ok || len(a.Models) == 0:
		return nil
	case model == "":
		return Errorf(ErrInvalid, "a token restricted to some models must name one: ?model=")
	case !a.CanAccessModel(model):
		return Errorf(ErrForbidden, "the token is not valid for model %q", model)
	}
	return nil
}
