package modelkeep_test

import (
	"errors"
	"testing"

	"github.com/modelkeep/modelkeep"
)

// wantKind checks that err is of kind want (nil: no error).
func wantKind(t *testing.T, err error, want *modelkeep.ErrorKind) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Errorf("unexpected error: %v", err)
	case want != nil && !errors.Is(err, want):
		t.Errorf("err = %v, want %v", err, want)
	}
}

func TestCheckStageMove(t *testing.T) {
	ready := func(stage modelkeep.Stage) modelkeep.Version {
		return modelkeep.Version{Model: "m", Number: 3, Status: modelkeep.StatusReady, Stage: stage}
	}
	tests := []struct {
		name string
		v    modelkeep.Version
		to   modelkeep.Stage
		want *modelkeep.ErrorKind
	}{
		{"a ready version into staging", ready(modelkeep.StageNone), modelkeep.StageStaging, nil},
		{"staging into production", ready(modelkeep.StageStaging), modelkeep.StageProduction, nil},
		{"straight into production", ready(modelkeep.StageNone), modelkeep.StageProduction, nil},
		{"production into archived", ready(modelkeep.StageProduction), modelkeep.StageArchived, nil},
		{"archived back into staging", ready(modelkeep.StageArchived), modelkeep.StageStaging, nil},
		{"back to none is not a target", ready(modelkeep.StageStaging), modelkeep.StageNone, modelkeep.ErrInvalid},
		{"an unknown stage is not a target", ready(modelkeep.StageNone), "qa", modelkeep.ErrInvalid},
		{"a pending version stays where it is", modelkeep.Version{Model: "m", Number: 3, Status: modelkeep.StatusPending, Stage: modelkeep.StageNone},
			modelkeep.StageStaging, modelkeep.ErrConflict},
		{"into the stage it is in", ready(modelkeep.StageProduction), modelkeep.StageProduction, modelkeep.ErrConflict},
		{"a bad target is named before the version's state", modelkeep.Version{Status: modelkeep.StatusPending}, modelkeep.StageNone, modelkeep.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantKind(t, modelkeep.CheckStageMove(tt.v, tt.to), tt.want) })
	}
}

func TestCheckFourEyes(t *testing.T) {
	v := modelkeep.Version{Model: "m", Number: 3, CreatedBy: "carol"}
	toProduction := modelkeep.Transition{To: modelkeep.StageProduction, RequestedBy: "rita"}
	toStaging := modelkeep.Transition{To: modelkeep.StageStaging, RequestedBy: "rita"}
	tests := []struct {
		name     string
		approver string
		t        modelkeep.Transition
		want     *modelkeep.ErrorKind
	}{
		{"a third person approves production", "alice", toProduction, nil},
		{"the requester may not approve production", "rita", toProduction, modelkeep.ErrForbidden},
		{"the version's creator may not approve production", "carol", toProduction, modelkeep.ErrForbidden},
		{"the creator who also requested may not", "carol", modelkeep.Transition{To: modelkeep.StageProduction, RequestedBy: "carol"}, modelkeep.ErrForbidden},
		{"the requester may approve staging", "rita", toStaging, nil},
		{"the creator may approve staging", "carol", toStaging, nil},
		{"the requester may approve archiving", "rita", modelkeep.Transition{To: modelkeep.StageArchived, RequestedBy: "rita"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantKind(t, modelkeep.CheckFourEyes(tt.approver, tt.t, v), tt.want) })
	}
}

func TestApprovalCount(t *testing.T) {
	policy := modelkeep.Policy{RequiredApprovals: 3}
	counts := []struct {
		name string
		to   modelkeep.Stage
		want int
	}{
		{"production needs the policy's count", modelkeep.StageProduction, 3},
		{"staging needs one", modelkeep.StageStaging, 1},
		{"archiving needs one", modelkeep.StageArchived, 1},
	}
	for _, tt := range counts {
		t.Run(tt.name, func(t *testing.T) {
			if got := modelkeep.RequiredApprovals(tt.to, policy); got != tt.want {
				t.Errorf("RequiredApprovals(%s) = %d, want %d", tt.to, got, tt.want)
			}
		})
	}

	tr := modelkeep.Transition{ID: "t1", RequiredApprovals: 2, Approvals: []modelkeep.Approval{{Approver: "alice"}}}
	approvers := []struct {
		name     string
		approver string
		want     *modelkeep.ErrorKind
	}{
		{"a distinct approver counts", "bob", nil},
		{"the same approver does not count twice", "alice", modelkeep.ErrConflict},
	}
	for _, tt := range approvers {
		t.Run(tt.name, func(t *testing.T) { wantKind(t, modelkeep.CheckNewApprover(tr, tt.approver), tt.want) })
	}
	reached := []struct {
		name     string
		n        int
		approved bool
	}{
		{"one of two approvals waits", 1, false},
		{"two of two approvals execute", 2, true},
		{"more than needed execute", 3, true},
	}
	for _, tt := range reached {
		t.Run(tt.name, func(t *testing.T) {
			if got := tr.Approved(tt.n); got != tt.approved {
				t.Errorf("Approved(%d) = %v, want %v", tt.n, got, tt.approved)
			}
		})
	}
}

func TestCheckReleased(t *testing.T) {
	tests := []struct {
		name string
		v    modelkeep.Version
		want *modelkeep.ErrorKind
	}{
		{"ready in staging", modelkeep.Version{Status: modelkeep.StatusReady, Stage: modelkeep.StageStaging}, nil},
		{"ready in production", modelkeep.Version{Status: modelkeep.StatusReady, Stage: modelkeep.StageProduction}, nil},
		{"archived after production", modelkeep.Version{Status: modelkeep.StatusReady, Stage: modelkeep.StageArchived, EverProduction: true}, nil},
		{"archived, never in production", modelkeep.Version{Status: modelkeep.StatusReady, Stage: modelkeep.StageArchived}, modelkeep.ErrForbidden},
		{"ready, in no stage", modelkeep.Version{Status: modelkeep.StatusReady, Stage: modelkeep.StageNone}, modelkeep.ErrForbidden},
		{"pending", modelkeep.Version{Status: modelkeep.StatusPending, Stage: modelkeep.StageNone}, modelkeep.ErrForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantKind(t, modelkeep.CheckReleased(tt.v), tt.want) })
	}

	roles := []struct {
		name  string
		roles []string
		held  bool
	}{
		{"a deployer", []string{modelkeep.RoleDeployer}, true},
		{"a token with no role that reads", nil, true},
		{"a publisher", []string{modelkeep.RolePublisher}, false},
		{"an approver", []string{modelkeep.RoleApprover}, false},
		{"an auditor", []string{modelkeep.RoleAuditor}, false},
		{"an admin", []string{modelkeep.RoleAdmin}, false},
		{"a deployer who also publishes", []string{modelkeep.RoleDeployer, modelkeep.RolePublisher}, false},
	}
	for _, tt := range roles {
		t.Run(tt.name, func(t *testing.T) {
			if got := (modelkeep.Actor{Roles: tt.roles}).DownloadsReleasedOnly(); got != tt.held {
				t.Errorf("DownloadsReleasedOnly = %v, want %v", got, tt.held)
			}
		})
	}
}
