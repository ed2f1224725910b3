package server

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/modelkeep/modelkeep"
)

// firstTokenHint returns the command that creates the first token when no
// token was ever issued (and no identity provider is configured), else "".
func (s *Server) firstTokenHint(ctx context.Context) string {
	if s.cfg.OIDCIssuer != "" {
		return ""
	}
	tokens, _, err := s.service.ListTokens(ctx, modelkeep.ListTokensInput{IncludeRevoked: true, PageSize: 1})
	if err != nil || len(tokens) > 0 {
		return ""
	}
	return tokenCreateLine(programName(), s.cfg)
}

// tokenCreateLine is the `token create` command line that reads the same
// configuration as cfg: the same environment, and the flags of cfg's
// command line that token create takes. Secret values are not repeated:
// their place says so.
func tokenCreateLine(program string, cfg Config) string {
	args := []string{program, "token", "create", "--subject", "admin", "--role", "admin"}
	for _, f := range cfg.given {
		if !slices.Contains(tokenSettings, f.name) {
			continue
		}
		value := shellQuote(f.value)
		if isSecretSetting(f.name, f.value) {
			value = "'<as given to serve>'"
		}
		args = append(args, "--"+f.name+"="+value)
	}
	return strings.Join(args, " ")
}

// isSecretSetting reports whether a setting's value must not be printed.
func isSecretSetting(name, value string) bool {
	switch name {
	case "jwt-secret":
		return true
	case "database":
		u, err := url.Parse(value)
		if err != nil {
			return true
		}
		_, hasPassword := u.User.Password()
		return hasPassword
	}
	return false
}

// programName is how to run this binary again: its absolute path when it
// was started by one (/modelkeep in the container image), else "modelkeep"
// (on the PATH, or a go run whose binary is gone once it exits).
func programName() string {
	p := os.Args[0]
	if filepath.IsAbs(p) && !strings.HasPrefix(p, os.TempDir()) {
		return p
	}
	return "modelkeep"
}

// shellQuote quotes s for a POSIX shell when it needs quoting.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@,+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
