package store

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep"
)

func TestTokens(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		ctx := t.Context()
		base := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
		for i := range 5 {
			tok := modelkeep.Token{
				ID: fmt.Sprintf("%032d", i), Subject: fmt.Sprintf("svc-%d", i), Roles: []string{"publisher"},
				Models: []string{"fraud-*"}, CreatedBy: "admin",
				// Two share a creation time: the keyset must order by id too.
				CreatedAt: base.Add(time.Duration(i/2) * time.Minute), ExpiresAt: base.Add(24 * time.Hour),
			}
			if err := s.CreateToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.CreateToken(ctx, modelkeep.Token{ID: fmt.Sprintf("%032d", 0), ExpiresAt: base}); !errors.Is(err, modelkeep.ErrConflict) {
			t.Fatalf("duplicate id: %v", err)
		}
		got, err := s.GetToken(ctx, fmt.Sprintf("%032d", 3))
		if err != nil || got.Subject != "svc-3" || got.Roles[0] != "publisher" || got.Models[0] != "fraud-*" || got.RevokedAt != nil {
			t.Fatalf("get = %+v, %v", got, err)
		}
		if _, err := s.GetToken(ctx, "nope"); !errors.Is(err, modelkeep.ErrNotFound) {
			t.Fatalf("missing token: %v", err)
		}

		// Pages of 2, newest first, cover every token exactly once.
		var seen []string
		f := modelkeep.TokenFilter{Limit: 2}
		for range 5 {
			page, err := s.ListTokens(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, tok := range page {
				seen = append(seen, tok.Subject)
			}
			if len(page) < 2 {
				break
			}
			last := page[len(page)-1]
			f.BeforeCreatedAt, f.BeforeID = last.CreatedAt, last.ID
		}
		if strings.Join(seen, ",") != "svc-4,svc-3,svc-2,svc-1,svc-0" {
			t.Fatalf("paged = %v", seen)
		}

		at := base.Add(time.Hour)
		if err := s.RevokeToken(ctx, fmt.Sprintf("%032d", 1), at); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeToken(ctx, fmt.Sprintf("%032d", 1), at.Add(time.Hour)); err != nil {
			t.Fatalf("second revoke: %v", err)
		}
		got, _ = s.GetToken(ctx, fmt.Sprintf("%032d", 1))
		if got.RevokedAt == nil || !got.RevokedAt.Equal(at) {
			t.Fatalf("revoked at %v, want the first revocation %v", got.RevokedAt, at)
		}
		if err := s.RevokeToken(ctx, "nope", at); !errors.Is(err, modelkeep.ErrNotFound) {
			t.Fatalf("revoke missing: %v", err)
		}
		active, _ := s.ListTokens(ctx, modelkeep.TokenFilter{})
		all, _ := s.ListTokens(ctx, modelkeep.TokenFilter{IncludeRevoked: true})
		if len(active) != 4 || len(all) != 5 {
			t.Fatalf("active %d, all %d", len(active), len(all))
		}
	})
}

func TestListModelsNamePatterns(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		for _, n := range []string{"fraud-a", "fraud-b", "fraudx", "churn", "f_x", "fzx", "risk-1"} {
			mustCreateModel(t, s, n, nil)
		}
		for _, tc := range []struct {
			patterns []string
			want     string
		}{
			{nil, "churn,f_x,fraud-a,fraud-b,fraudx,fzx,risk-1"},
			{[]string{"fraud-*"}, "fraud-a,fraud-b"},
			{[]string{"fraud*"}, "fraud-a,fraud-b,fraudx"},
			{[]string{"f_x"}, "f_x"}, // _ is literal, not a wildcard
			{[]string{"f?x"}, "f_x,fzx"},
			{[]string{"churn", "risk-*"}, "churn,risk-1"},
			{[]string{"nothing-*"}, ""},
		} {
			models, err := s.ListModels(t.Context(), modelkeep.ModelFilter{NamePatterns: tc.patterns})
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, m := range models {
				names = append(names, m.Name)
			}
			if got := strings.Join(names, ","); got != tc.want {
				t.Errorf("patterns %v: %q, want %q", tc.patterns, got, tc.want)
			}
		}
	})
}
