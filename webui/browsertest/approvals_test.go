package browsertest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestFourEyesApproval: the approver who asked for production sees the
// approve button disabled with the four-eyes reason; a second approver
// approves from the inbox, and the version's page and its model's page
// show it in production (and the version it replaces archived).
func TestFourEyesApproval(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		w := e.seed()
		approve, reason := "#approve-"+w.pendingID, "#approve-"+w.pendingID+"-why"

		requester := e.newPage(t, "requester")
		requester.signIn(w.rita)
		requester.click(`header nav a[href="/ui/approvals"]`)
		requester.waitFor("the pending transition", fmt.Sprintf(`document.querySelector(%s)`, js(approve)))
		if !eval[bool](requester, fmt.Sprintf(`document.querySelector(%s).disabled`, js(approve))) {
			t.Errorf("the requester's approve button is enabled")
		}
		want := "four eyes: rita.approver requested this transition and cannot approve it"
		if got := requester.text(reason); got != want {
			t.Errorf("the reason next to the requester's approve button is %q, want %q", got, want)
		}
		if got := eval[string](requester, fmt.Sprintf(`document.querySelector(%s).getAttribute("aria-describedby")`, js(approve))); got != reason[1:] {
			t.Errorf("the disabled button is described by %q, want its reason %q", got, reason[1:])
		}
		requester.check("approvals")

		approver := e.newPage(t, "approver")
		approver.signIn(w.sam)
		approver.visit("/ui/models/fraud-detector/versions/2")
		approver.waitText("main .badges", "staging")
		approver.check("version-before")
		approver.click(`header nav a[href="/ui/approvals"]`)
		approver.waitFor("the pending transition", fmt.Sprintf(`document.querySelector(%s)`, js(approve)))
		if eval[bool](approver, fmt.Sprintf(`document.querySelector(%s).disabled`, js(approve))) {
			approver.fail("the second approver's approve button is disabled: %s", approver.text(reason))
		}
		approver.waitText("main table", "passes") // the gate, as it stands
		approver.check("approvals")
		approver.typeText("#comment-"+w.pendingID, "Shadow traffic reviewed: fewer false positives, same recall.")
		approver.click(approve)
		approver.waitText("main .notice", "it is now in production")
		approver.check("approvals-approved")

		approver.click(`main .notice a`)
		approver.waitText("main h1", "version")
		approver.waitText("main .badges", "production")
		if badges := approver.text("main .badges"); strings.Contains(badges, "staging") {
			t.Errorf("the version's page still says staging: %q", badges)
		}
		approver.click(`nav[aria-label="Version sections"] a[href$="/approvals"]`)
		approver.waitText("main", "Shadow traffic reviewed")
		approver.check("version-transitions")
		approver.click(`nav.crumbs a[href="/ui/models/fraud-detector"]`)
		approver.waitFor("the model's versions", `document.querySelectorAll("main tbody tr").length === 2`)
		stages := approver.texts("main tbody tr td:nth-of-type(1)")
		if len(stages) != 2 || stages[0] != "production" || stages[1] != "archived" {
			t.Errorf("the model's versions 2 and 1 are in %q, want production and archived", stages)
		}
		approver.check("model-after")

		var v struct{ Stage string }
		w.officer.call("GET", versionPath(fraudModel, 2), nil, http.StatusOK, &v)
		if v.Stage != "production" {
			t.Errorf("the API says version 2 is in %s", v.Stage)
		}
		requester.visit("/ui/approvals")
		requester.waitText("main", "Nothing waits for a decision.")
	})
}
