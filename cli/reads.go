package cli

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jedib0t/go-pretty/v6/table"

	"github.com/modelkeep/modelkeep/client"
)

var modelCommands = []command{
	{"list", "list models (--q TEXT, --tag key:value)", runModelsList},
	{"show", "show a model", runModelsShow},
	{"create", "register a model", runModelsCreate},
}

var versionCommands = []command{
	{"list", "list a model's versions, newest first (--stage, --status)", runVersionsList},
	{"show", "show a version (MODEL@N, MODEL@STAGE or MODEL@ALIAS) with its files", runVersionsShow},
	{"finalize", "make a pending version ready (MODEL@N)", runVersionsFinalize},
}

var transitionCommands = []command{
	{"list", "list transition requests (--status pending, --model)", runTransitionsList},
	{"show", "show a transition request with its approvals", runTransitionsShow},
	{"request", "ask to move a version to a stage (MODEL@N --to production)", runTransitionsRequest},
	{"approve", "approve a pending request (approver role, four eyes)", runTransitionsApprove},
	{"reject", "reject a pending request", runTransitionsReject},
}

var auditCommands = []command{
	{"list", "list audit events (--actor, --action, --resource, --since, ...)", runAuditList},
	{"show", "show one audit event by its sequence number", runAuditShow},
}

// newTable is a borderless table, easy to read and to cut.
func newTable(w io.Writer, header ...any) table.Writer {
	t := table.NewWriter()
	t.SetOutputMirror(w)
	t.SetStyle(table.StyleLight)
	plain(t)
	t.AppendHeader(table.Row(header))
	return t
}

// plain drops borders and padding: columns apart by two spaces.
func plain(t table.Writer) {
	t.Style().Options = table.Options{SeparateColumns: true}
	t.Style().Box.PaddingLeft = ""
	t.Style().Box.PaddingRight = ""
	t.Style().Box.MiddleVertical = "  "
}

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}

func tags(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, ",")
}

func numOrEmpty(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// callAndPrint is what the commands here share once their flags and
// arguments are checked: it makes the client, makes the command's one call
// and prints what that returns, as JSON with --output json, else through
// render. Callers check their arguments first so that a usage error is
// reported before a missing login or an unreachable server.
func callAndPrint[T any](e *env, call func(*client.Client) (T, error), render func(w io.Writer, v T)) error {
	c, err := e.client()
	if err != nil {
		return err
	}
	v, err := call(c)
	if err != nil {
		return err
	}
	if e.output == "json" {
		return printJSON(e.Stdout, v)
	}
	render(e.Stdout, v)
	return nil
}

// listAndPrint is callAndPrint for a list call. Its JSON is an object with
// the items under key, [] rather than null when there are none, so that
// whoever reads it always finds an array there.
func listAndPrint[T any](e *env, key string, call func(*client.Client) ([]T, error), render func(w io.Writer, items []T)) error {
	return callAndPrint(e, func(c *client.Client) (map[string][]T, error) {
		items, err := call(c)
		return map[string][]T{key: nonNil(items)}, err
	}, func(w io.Writer, m map[string][]T) {
		render(w, m[key])
	})
}

// -- models -------------------------------------------------------------------

func runModelsList(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "models list", "Usage: modelkeep models list [--q TEXT] [--tag key:value] [--limit N]\n\nLists models by name.\n")
	q := f.String("q", "", "name or description contains TEXT")
	tag := f.String("tag", "", "has the tag key:value")
	limit := f.Int("limit", 0, "at most N models (all when 0)")
	if _, err := f.parse(args, 0, 0); err != nil {
		return err
	}
	return listAndPrint(e, "models", func(c *client.Client) ([]client.Model, error) {
		return c.ListModels(ctx, *q, *tag, *limit)
	}, func(w io.Writer, ms []client.Model) {
		t := newTable(w, "NAME", "LATEST", "PRODUCTION", "TAGS", "UPDATED")
		for _, m := range ms {
			t.AppendRow(table.Row{m.Name, numOrEmpty(m.LatestVersion), numOrEmpty(m.ProductionVersion), tags(m.Tags), ts(m.UpdatedAt)})
		}
		t.Render()
	})
}

func runModelsShow(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "models show", "Usage: modelkeep models show MODEL\n\nShows a model.\n")
	pos, err := f.parse(args, 1, 1)
	if err != nil {
		return err
	}
	return callAndPrint(e, func(c *client.Client) (client.Model, error) {
		return c.GetModel(ctx, pos[0])
	}, func(w io.Writer, m client.Model) {
		kv(w, [][2]string{
			{"name", m.Name}, {"description", m.Description}, {"tags", tags(m.Tags)},
			{"latest version", numOrEmpty(m.LatestVersion)}, {"production version", numOrEmpty(m.ProductionVersion)},
			{"created by", m.CreatedBy}, {"created at", ts(m.CreatedAt)}, {"updated at", ts(m.UpdatedAt)},
		})
	})
}

func runModelsCreate(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "models create", "Usage: modelkeep models create MODEL [--description TEXT]\n\nRegisters a model (names: [a-z0-9][a-z0-9._-]{0,127}).\n")
	desc := f.String("description", "", "the model's description")
	pos, err := f.parse(args, 1, 1)
	if err != nil {
		return err
	}
	return callAndPrint(e, func(c *client.Client) (client.Model, error) {
		return c.CreateModel(ctx, pos[0], *desc)
	}, func(w io.Writer, m client.Model) {
		fmt.Fprintf(w, "created model %s\n", m.Name)
	})
}

// kv prints a two-column table of fields.
func kv(w io.Writer, rows [][2]string) {
	t := table.NewWriter()
	t.SetOutputMirror(w)
	t.SetStyle(table.StyleLight)
	plain(t)
	for _, r := range rows {
		if r[1] != "" {
			t.AppendRow(table.Row{r[0] + ":", r[1]})
		}
	}
	t.Render()
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// -- versions -----------------------------------------------------------------

func runVersionsList(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "versions list", "Usage: modelkeep versions list MODEL [--stage STAGE] [--status pending|ready] [--limit N]\n\nLists a model's versions, newest first.\n")
	stage := f.String("stage", "", "only versions in this stage (none, staging, production, archived)")
	status := f.String("status", "", "only pending or ready versions")
	limit := f.Int("limit", 0, "at most N versions (all when 0)")
	pos, err := f.parse(args, 1, 1)
	if err != nil {
		return err
	}
	return listAndPrint(e, "versions", func(c *client.Client) ([]client.Version, error) {
		return c.ListVersions(ctx, pos[0], *stage, *status, *limit)
	}, func(w io.Writer, vs []client.Version) {
		t := newTable(w, "VERSION", "STATUS", "STAGE", "ALIASES", "CREATED BY", "CREATED", "MANIFEST DIGEST")
		for _, v := range vs {
			t.AppendRow(table.Row{v.Version, v.Status, v.Stage, strings.Join(v.Aliases, ","), v.CreatedBy, ts(v.CreatedAt), v.ManifestDigest})
		}
		t.Render()
	})
}

func runVersionsShow(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "versions show", "Usage: modelkeep versions show MODEL@N|MODEL@STAGE|MODEL@ALIAS\n\nShows a version with its files.\n")
	pos, err := f.parse(args, 1, 1)
	if err != nil {
		return err
	}
	ref, err := client.ParseRef(pos[0])
	if err != nil {
		return usagef("%v", err)
	}
	return callAndPrint(e, func(c *client.Client) (client.Version, error) {
		return versionWithFiles(ctx, c, ref)
	}, func(w io.Writer, v client.Version) {
		rows := [][2]string{
			{"model", v.Model}, {"version", strconv.Itoa(v.Version)}, {"status", v.Status}, {"stage", v.Stage},
			{"aliases", strings.Join(v.Aliases, ",")}, {"description", v.Description}, {"tags", tags(v.Tags)},
			{"params", tags(v.Params)}, {"manifest digest", v.ManifestDigest}, {"created by", v.CreatedBy}, {"created at", ts(v.CreatedAt)},
		}
		if v.Source != nil {
			rows = append(rows, [2]string{"run", v.Source.RunID}, [2]string{"git commit", v.Source.GitCommit})
		}
		for _, d := range v.Datasets {
			rows = append(rows, [2]string{"dataset", d.Name + "@" + d.Version + ":" + d.Role})
		}
		kv(w, rows)
		fmt.Fprintln(w)
		t := newTable(w, "PATH", "SIZE", "SHA256")
		for _, fl := range v.Files {
			t.AppendRow(table.Row{fl.Path, fl.Size, fl.SHA256})
		}
		t.Render()
	})
}

// versionWithFiles reads the version ref names, by stage, alias or number.
// Not every one of those answers carries the files, so they are asked for
// when missing: the version is shown with them either way.
func versionWithFiles(ctx context.Context, c *client.Client, ref client.Ref) (client.Version, error) {
	var v client.Version
	var err error
	switch {
	case ref.Stage != "":
		v, err = c.VersionInStage(ctx, ref.Model, ref.Stage)
	case ref.Alias != "":
		v, err = c.GetAlias(ctx, ref.Model, ref.Alias)
	default:
		v, err = c.GetVersion(ctx, ref.Model, ref.Version)
	}
	if err != nil || v.Files != nil {
		return v, err
	}
	l, err := c.ListFiles(ctx, ref.Model, v.Version)
	if err != nil {
		return client.Version{}, err
	}
	v.Files = nonNil(l.Files)
	return v, nil
}

func runVersionsFinalize(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "versions finalize", "Usage: modelkeep versions finalize MODEL@N\n\nMakes a pending version ready: immutable, with its manifest digest.\n")
	pos, err := f.parse(args, 1, 1)
	if err != nil {
		return err
	}
	ref, err := client.ParseRef(pos[0])
	if err != nil || ref.Version == 0 {
		return usagef("%q: want MODEL@N", pos[0])
	}
	return callAndPrint(e, func(c *client.Client) (client.Version, error) {
		return c.Finalize(ctx, ref.Model, ref.Version)
	}, func(w io.Writer, v client.Version) {
		fmt.Fprintln(w, v.ManifestDigest)
	})
}

// -- transitions --------------------------------------------------------------

func transitionTable(w io.Writer, ts_ []client.Transition) {
	t := newTable(w, "ID", "MODEL", "VERSION", "TO", "STATUS", "REQUESTED BY", "REQUESTED", "APPROVALS")
	for _, tr := range ts_ {
		appr := strconv.Itoa(len(tr.Approvals))
		if tr.RequiredApprovals > 0 {
			appr += "/" + strconv.Itoa(tr.RequiredApprovals)
		}
		t.AppendRow(table.Row{tr.ID, tr.Model, tr.Version, tr.To, tr.Status, tr.RequestedBy, ts(tr.RequestedAt), appr})
	}
	t.Render()
}

// transitionDetail prints one request as a table row, then its approvals
// with the policy gates each one passed.
func transitionDetail(w io.Writer, tr client.Transition) {
	transitionTable(w, []client.Transition{tr})
	for _, a := range tr.Approvals {
		fmt.Fprintf(w, "approved by %s at %s: %s\n", a.Approver, ts(a.At), a.Comment)
		for _, g := range a.Gates {
			fmt.Fprintf(w, "  gate %s passed=%t: %s\n", g.Gate, g.Passed, g.Detail)
		}
	}
}

func runTransitionsList(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "transitions list", "Usage: modelkeep transitions list [--status pending|approved|rejected] [--model MODEL] [--limit N]\n\nLists transition requests, newest first.\n")
	status := f.String("status", "", "only requests with this status")
	model := f.String("model", "", "only requests for this model")
	limit := f.Int("limit", 0, "at most N requests (all when 0)")
	if _, err := f.parse(args, 0, 0); err != nil {
		return err
	}
	return listAndPrint(e, "transitions", func(c *client.Client) ([]client.Transition, error) {
		return c.ListTransitions(ctx, *status, *model, *limit)
	}, transitionTable)
}

func runTransitionsShow(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "transitions show", "Usage: modelkeep transitions show ID\n\nShows a transition request with its approvals.\n")
	pos, err := f.parse(args, 1, 1)
	if err != nil {
		return err
	}
	return callAndPrint(e, func(c *client.Client) (client.Transition, error) {
		return c.GetTransition(ctx, pos[0])
	}, transitionDetail)
}

func runTransitionsRequest(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "transitions request", "Usage: modelkeep transitions request MODEL@N --to staging|production|archived [--comment TEXT]\n\n"+
		"Asks to move a ready version to a stage; into production it waits for approvals (four eyes).\n")
	to := f.String("to", "", "the stage: staging, production or archived")
	comment := f.String("comment", "", "why")
	pos, err := f.parse(args, 1, 1)
	if err != nil {
		return err
	}
	ref, err := client.ParseRef(pos[0])
	if err != nil || ref.Version == 0 {
		return usagef("%q: want MODEL@N", pos[0])
	}
	if *to == "" {
		return usagef("--to is required")
	}
	return callAndPrint(e, func(c *client.Client) (client.Transition, error) {
		return c.RequestTransition(ctx, ref.Model, ref.Version, *to, *comment)
	}, transitionDetail)
}

func runTransitionsApprove(ctx context.Context, e *env, args []string) error {
	return decide(ctx, e, args, true)
}

func runTransitionsReject(ctx context.Context, e *env, args []string) error {
	return decide(ctx, e, args, false)
}

func decide(ctx context.Context, e *env, args []string, approve bool) error {
	verb := "reject"
	help := "Rejects a pending request: the version stays where it is.\n"
	if approve {
		verb = "approve"
		help = "Approves a pending request (approver role; not the requester nor the version's creator).\n" +
			"When the model's policy gates fail, the exit code is 5 and the failed gates are listed.\n"
	}
	f := newFlags(e, "transitions "+verb, "Usage: modelkeep transitions "+verb+" ID --comment TEXT\n\n"+help)
	comment := f.String("comment", "", "why (required)")
	pos, err := f.parse(args, 1, 1)
	if err != nil {
		return err
	}
	if *comment == "" {
		return usagef("--comment is required")
	}
	return callAndPrint(e, func(c *client.Client) (client.Transition, error) {
		return c.DecideTransition(ctx, pos[0], approve, *comment)
	}, transitionDetail)
}

// -- audit --------------------------------------------------------------------

func runAuditList(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "audit list", "Usage: modelkeep audit list [--actor A] [--action A] [--resource R] [--outcome O] [--since T] [--until T] [--limit N]\n\n"+
		"Lists audit events (auditor or admin role). Times are RFC 3339.\n")
	var q client.AuditQuery
	f.StringVar(&q.Actor, "actor", "", "only events of this actor")
	f.StringVar(&q.Action, "action", "", "only events of this action (version.create, file.download, ...)")
	f.StringVar(&q.Resource, "resource", "", "only events about this resource")
	f.StringVar(&q.Outcome, "outcome", "", "only events with this outcome")
	f.StringVar(&q.Since, "since", "", "only events at or after this time")
	f.StringVar(&q.Until, "until", "", "only events before this time")
	f.StringVar(&q.Order, "order", "", "asc or desc")
	f.IntVar(&q.Limit, "limit", 100, "at most N events (all when 0)")
	if _, err := f.parse(args, 0, 0); err != nil {
		return err
	}
	return listAndPrint(e, "events", func(c *client.Client) ([]client.AuditEvent, error) {
		return c.ListAudit(ctx, q)
	}, func(w io.Writer, evs []client.AuditEvent) {
		t := newTable(w, "SEQ", "TIME", "ACTOR", "ACTION", "RESOURCE", "OUTCOME")
		for _, ev := range evs {
			t.AppendRow(table.Row{ev.Seq, ts(ev.Time), ev.Actor, ev.Action, ev.Resource, ev.Outcome})
		}
		t.Render()
	})
}

func runAuditShow(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "audit show", "Usage: modelkeep audit show SEQ\n\nShows one audit event with its details and hashes.\n")
	pos, err := f.parse(args, 1, 1)
	if err != nil {
		return err
	}
	seq, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil || seq < 1 {
		return usagef("%q: want a sequence number", pos[0])
	}
	return callAndPrint(e, func(c *client.Client) (client.AuditEvent, error) {
		return c.GetAuditEvent(ctx, seq)
	}, func(w io.Writer, ev client.AuditEvent) {
		kv(w, [][2]string{
			{"seq", strconv.FormatInt(ev.Seq, 10)}, {"time", ev.Time.UTC().Format(time.RFC3339Nano)}, {"actor", ev.Actor},
			{"action", ev.Action}, {"resource", ev.Resource}, {"outcome", ev.Outcome}, {"request id", ev.RequestID},
			{"remote addr", ev.RemoteAddr}, {"details", string(ev.Details)}, {"prev hash", ev.PrevHash}, {"hash", ev.Hash},
		})
	})
}
