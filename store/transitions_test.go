package store

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep"
)

func TestTransitions(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		ctx := t.Context()
		mustCreateModel(t, s, "m", nil)
		mustCreateVersion(t, s, "m")
		requested := time.Date(2026, 2, 3, 4, 5, 6, 789123456, time.UTC)
		in := modelkeep.Transition{
			ID: "t1", Model: "m", Version: 1, From: modelkeep.StageStaging, To: modelkeep.StageProduction,
			Comment: "ship it", RequestedBy: "carol", RequestedAt: requested,
			ManifestDigest: "sha256:" + sha("m1"), RequiredApprovals: 2,
		}

		t.Run("create", func(t *testing.T) {
			tests := []struct {
				name    string
				tr      modelkeep.Transition
				wantErr error
			}{
				{name: "new", tr: in},
				{name: "duplicate id", tr: in, wantErr: modelkeep.ErrConflict},
				{name: "missing version", tr: modelkeep.Transition{ID: "t2", Model: "m", Version: 7}, wantErr: modelkeep.ErrNotFound},
				{name: "missing model", tr: modelkeep.Transition{ID: "t3", Model: "nope", Version: 1}, wantErr: modelkeep.ErrNotFound},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					err := s.CreateTransition(ctx, tt.tr)
					if tt.wantErr != nil {
						wantErrIs(t, err, tt.wantErr)
						return
					}
					if err != nil {
						t.Fatal(err)
					}
				})
			}
		})

		want := in
		want.Status = modelkeep.TransitionPending
		want.RequestedAt = requested.Truncate(time.Microsecond)
		want.Approvals = []modelkeep.Approval{}
		t.Run("get", func(t *testing.T) {
			got, err := s.GetTransition(ctx, "t1")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
			_, err = s.GetTransition(ctx, "x")
			wantErrIs(t, err, modelkeep.ErrNotFound)
			if err.Error() != `transition "x" not found` {
				t.Errorf("message %q", err)
			}
		})

		at := requested.Add(time.Hour)
		gates := []modelkeep.GateResult{
			{Gate: "metric auc >= 0.9", Passed: true, Detail: "auc = 0.93 (step 12)"},
			{Gate: "tag risk_review", Passed: true},
		}
		t.Run("approve", func(t *testing.T) {
			tests := []struct {
				name    string
				id      string
				a       modelkeep.Approval
				wantErr error
			}{
				{name: "first", id: "t1", a: modelkeep.Approval{Approver: "dave", Comment: "ok", At: at, Gates: gates}},
				{name: "second approver", id: "t1", a: modelkeep.Approval{Approver: "erin", Comment: "fine", At: at.Add(time.Minute)}},
				{name: "same approver again", id: "t1", a: modelkeep.Approval{Approver: "dave", At: at.Add(2 * time.Minute)}, wantErr: modelkeep.ErrConflict},
				{name: "missing transition", id: "x", a: modelkeep.Approval{Approver: "dave"}, wantErr: modelkeep.ErrNotFound},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					err := s.AddApproval(ctx, tt.id, tt.a)
					if tt.wantErr != nil {
						wantErrIs(t, err, tt.wantErr)
						return
					}
					if err != nil {
						t.Fatal(err)
					}
				})
			}
			got, err := s.GetTransition(ctx, "t1")
			if err != nil {
				t.Fatal(err)
			}
			wantApprovals := []modelkeep.Approval{
				{Approver: "dave", Comment: "ok", At: at.Truncate(time.Microsecond), Gates: gates},
				{Approver: "erin", Comment: "fine", At: at.Add(time.Minute).Truncate(time.Microsecond), Gates: []modelkeep.GateResult{}},
			}
			if !reflect.DeepEqual(got.Approvals, wantApprovals) {
				t.Errorf("approvals %+v\nwant      %+v", got.Approvals, wantApprovals)
			}
		})

		t.Run("decide", func(t *testing.T) {
			decided := at.Add(time.Hour)
			tests := []struct {
				name    string
				id      string
				status  modelkeep.TransitionStatus
				wantErr error
			}{
				{name: "not a decision", id: "t1", status: modelkeep.TransitionPending, wantErr: modelkeep.ErrInvalid},
				{name: "approve", id: "t1", status: modelkeep.TransitionApproved},
				{name: "decided already", id: "t1", status: modelkeep.TransitionRejected, wantErr: modelkeep.ErrConflict},
				{name: "missing", id: "x", status: modelkeep.TransitionRejected, wantErr: modelkeep.ErrNotFound},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					err := s.DecideTransition(ctx, tt.id, tt.status, "erin", "approved with care", decided)
					if tt.wantErr != nil {
						wantErrIs(t, err, tt.wantErr)
						return
					}
					if err != nil {
						t.Fatal(err)
					}
				})
			}
			got, err := s.GetTransition(ctx, "t1")
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != modelkeep.TransitionApproved || got.DecidedBy != "erin" || got.DecisionComment != "approved with care" ||
				got.DecidedAt == nil || !got.DecidedAt.Equal(decided.Truncate(time.Microsecond)) {
				t.Errorf("decided transition %+v", got)
			}
		})
	})
}

func TestListTransitions(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		ctx := t.Context()
		for _, m := range []string{"a", "b"} {
			mustCreateModel(t, s, m, nil)
			mustCreateVersion(t, s, m)
			mustCreateVersion(t, s, m)
		}
		base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		// id, model, version, minutes after base, status. t2 and t3 share a
		// time, as do t5 and t6: the keyset must order them by id.
		all := []struct {
			id      string
			model   string
			version int
			minute  int
			status  modelkeep.TransitionStatus
		}{
			{"t0", "a", 1, 0, modelkeep.TransitionApproved},
			{"t1", "b", 1, 1, modelkeep.TransitionPending},
			{"t2", "a", 2, 2, modelkeep.TransitionPending},
			{"t3", "b", 2, 2, modelkeep.TransitionRejected},
			{"t4", "a", 1, 3, modelkeep.TransitionPending},
			{"t5", "a", 2, 4, modelkeep.TransitionPending},
			{"t6", "b", 1, 4, modelkeep.TransitionPending},
		}
		for _, tr := range all {
			err := s.CreateTransition(ctx, modelkeep.Transition{
				ID: tr.id, Model: tr.model, Version: tr.version, From: "none", To: "staging", Status: tr.status,
				RequestedBy: "carol", RequestedAt: base.Add(time.Duration(tr.minute) * time.Minute), RequiredApprovals: 1,
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := s.AddApproval(ctx, "t5", modelkeep.Approval{Approver: "dave"}); err != nil {
			t.Fatal(err)
		}

		tests := []struct {
			name string
			f    modelkeep.TransitionFilter
			want string
		}{
			{name: "all", want: "t6,t5,t4,t3,t2,t1,t0"},
			{name: "model", f: modelkeep.TransitionFilter{Model: "a"}, want: "t5,t4,t2,t0"},
			{name: "status", f: modelkeep.TransitionFilter{Status: modelkeep.TransitionPending}, want: "t6,t5,t4,t2,t1"},
			{name: "model and status", f: modelkeep.TransitionFilter{Model: "b", Status: modelkeep.TransitionPending}, want: "t6,t1"},
			{name: "limit", f: modelkeep.TransitionFilter{Limit: 3}, want: "t6,t5,t4"},
			{name: "before a time and id", f: modelkeep.TransitionFilter{BeforeRequestedAt: base.Add(4 * time.Minute), BeforeID: "t6"}, want: "t5,t4,t3,t2,t1,t0"},
			{name: "before a shared time", f: modelkeep.TransitionFilter{BeforeRequestedAt: base.Add(2 * time.Minute), BeforeID: "t3"}, want: "t2,t1,t0"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ts, err := s.ListTransitions(ctx, tt.f)
				if err != nil {
					t.Fatal(err)
				}
				var ids []string
				for _, tr := range ts {
					ids = append(ids, tr.ID)
				}
				if got := strings.Join(ids, ","); got != tt.want {
					t.Errorf("got %s, want %s", got, tt.want)
				}
			})
		}

		t.Run("pages cover every transition once", func(t *testing.T) {
			for _, status := range []modelkeep.TransitionStatus{"", modelkeep.TransitionPending} {
				var seen []string
				f := modelkeep.TransitionFilter{Status: status, Limit: 2}
				for range len(all) {
					page, err := s.ListTransitions(ctx, f)
					if err != nil {
						t.Fatal(err)
					}
					for _, tr := range page {
						seen = append(seen, tr.ID)
					}
					if len(page) < f.Limit {
						break
					}
					last := page[len(page)-1]
					f.BeforeRequestedAt, f.BeforeID = last.RequestedAt, last.ID
				}
				want := map[modelkeep.TransitionStatus]string{"": "t6,t5,t4,t3,t2,t1,t0", "pending": "t6,t5,t4,t2,t1"}[status]
				if got := strings.Join(seen, ","); got != want {
					t.Errorf("status %q: paged %s, want %s", status, got, want)
				}
			}
		})

		t.Run("rows are complete", func(t *testing.T) {
			ts, err := s.ListTransitions(ctx, modelkeep.TransitionFilter{Model: "a", Limit: 1})
			if err != nil {
				t.Fatal(err)
			}
			got := ts[0]
			if got.ID != "t5" || got.Model != "a" || got.Version != 2 || got.To != "staging" ||
				len(got.Approvals) != 1 || got.Approvals[0].Approver != "dave" {
				t.Errorf("listed %+v", got)
			}
		})

		t.Run("unknown model", func(t *testing.T) {
			_, err := s.ListTransitions(ctx, modelkeep.TransitionFilter{Model: "nope"})
			wantErrIs(t, err, modelkeep.ErrNotFound)
		})
	})
}
