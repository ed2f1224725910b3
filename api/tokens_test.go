package api

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep"
)

// The bounds of a token's lifetime are in the contract, as the server
// applies them.
func TestTokenTTLBoundsInSpec(t *testing.T) {
	doc, err := LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	prop := doc.Components.Schemas["CreateTokenRequest"].Value.Properties["expires_in"].Value
	for ext, want := range map[string]time.Duration{"x-duration-minimum": modelkeep.MinTokenTTL, "x-duration-maximum": modelkeep.MaxTokenTTL} {
		s, _ := prop.Extensions[ext].(string)
		got, err := time.ParseDuration(s)
		if err != nil || got != want {
			t.Errorf("expires_in %s is %q, the server applies %s", ext, s, want)
		}
		if !strings.Contains(prop.Description, s) {
			t.Errorf("the description of expires_in does not state %s %s", ext, s)
		}
	}
	for _, ttl := range []time.Duration{0, -time.Hour, 30 * time.Second, modelkeep.MaxTokenTTL + time.Hour} {
		if err := modelkeep.CheckTokenTTL(ttl); !errors.Is(err, modelkeep.ErrInvalid) || !strings.Contains(err.Error(), "lifetime must be from 1m to 87600h") {
			t.Errorf("CheckTokenTTL(%s) = %v, want invalid stating the bounds", ttl, err)
		}
	}
	for _, ttl := range []time.Duration{modelkeep.MinTokenTTL, time.Hour, modelkeep.MaxTokenTTL} {
		if err := modelkeep.CheckTokenTTL(ttl); err != nil {
			t.Errorf("CheckTokenTTL(%s) = %v", ttl, err)
		}
	}
}
