package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/cli"
	"github.com/modelkeep/modelkeep/client"
	"github.com/modelkeep/modelkeep/internal/testenv"
	"github.com/modelkeep/modelkeep/server"
)

// pushTestSize is the large file of TestPushResume: 256 MiB by default
// (the whole suite has a few minutes), MODELKEEP_TEST_CLI_PUSH_SIZE=1GiB
// for the figure.
func pushTestSize(t *testing.T) int64 {
	if v := os.Getenv("MODELKEEP_TEST_CLI_PUSH_SIZE"); v != "" {
		n, err := server.ParseSize(v)
		if err != nil || n < 128<<20 {
			t.Fatalf("MODELKEEP_TEST_CLI_PUSH_SIZE=%q: want a size of at least 128MiB", v)
		}
		return n
	}
	return 256 << 20
}

type pushJSON struct {
	Model          string        `json:"model"`
	Version        int           `json:"version"`
	ManifestDigest string        `json:"manifest_digest"`
	Status         string        `json:"status"`
	Files          []client.File `json:"files"`
	Uploaded       []string      `json:"uploaded"`
	Skipped        []string      `json:"skipped"`
	BytesSent      int64         `json:"bytes_sent"`
}

func decode[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("--output json: %v\n%s", err, s)
	}
	return v
}

// TestPushResume: `modelkeep push` of a directory with a large file is
// interrupted at about half of its bytes (its context cancelled, as
// Ctrl-C does), exits 130 telling how to resume, and `push --resume`
// finishes the same version sending less than a tenth of the directory
// again (bytes counted on the wire, below the client). The finalized
// version's manifest digest equals that of a clean push of the same
// directory, and no upload session is left open.
func TestPushResume(t *testing.T) {
	size := pushTestSize(t)
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			database, blobs := b.New(t)
			ts := startServer(t, database, blobs)
			u := newUser(t, ts, modelkeep.RolePublisher)
			files := map[string]int64{"weights.bin": size, "config.json": 1234, "tokenizer/vocab.txt": 300_000, "empty": 0}
			var total int64
			for _, n := range files {
				total += n
			}
			dir := writeTree(t, 1, files)

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			u.meter.set(func(m *meter) {
				m.onSent = func(n int64) {
					if n >= total/2 {
						cancel()
					}
				}
			})
			start := time.Now()
			r := u.run(ctx, "", "push", "--create-model", "big", dir)
			if r.code != cli.ExitInterrupted || !strings.Contains(r.stderr, "push --resume big") {
				t.Fatalf("interrupted push: exit %d, want %d with a hint to resume\n%s", r.code, cli.ExitInterrupted, r.stderr)
			}
			first := u.meter.sent.Load()
			u.meter.set(func(m *meter) { m.onSent = nil })
			t.Logf("interrupted after %s: %d of %d bytes sent", time.Since(start).Round(time.Millisecond), first, total)

			start = time.Now()
			out := decode[pushJSON](t, u.must("push", "--resume", "big", dir, "--finalize", "--output", "json"))
			second := u.meter.sent.Load() - first
			resent := first + second - total
			t.Logf("resumed in %s: %d bytes sent, %d sent twice (%.2f%% of %d)", time.Since(start).Round(time.Millisecond),
				second, resent, 100*float64(resent)/float64(total), total)
			u.meter.mu.Lock()
			for _, c := range u.meter.conflicts {
				t.Logf("409 answered (the client checked the session and went on): %s", c)
			}
			u.meter.mu.Unlock()
			if out.Version != 1 || out.Status != "ready" {
				t.Fatalf("resumed push: %+v, want version 1 ready", out)
			}
			if resent*10 >= total {
				t.Errorf("the resumed push sent %d bytes again, not less than a tenth of %d", resent, total)
			}
			if second >= total-first+total/10 {
				t.Errorf("the resumed push sent %d bytes; %d were left", second, total-first)
			}

			clean := decode[pushJSON](t, u.must("push", "big", dir, "--finalize", "--output", "json"))
			if clean.Version != 2 || clean.ManifestDigest != out.ManifestDigest {
				t.Errorf("clean push: version %d digest %s; resumed: %s", clean.Version, clean.ManifestDigest, out.ManifestDigest)
			}
			c := client.New(ts.url, ts.tokens[modelkeep.RoleAdmin], nil)
			for _, n := range []int{1, 2} {
				v, err := c.GetVersion(context.Background(), "big", n)
				if err != nil || v.ManifestDigest != out.ManifestDigest || v.Status != "ready" {
					t.Errorf("version %d on the server: %+v, %v; want digest %s", n, v, err, out.ManifestDigest)
				}
				if ups, err := c.ListOpenUploads(context.Background(), "big", n); err != nil || len(ups) != 0 {
					t.Errorf("version %d: open upload sessions %+v, %v", n, ups, err)
				}
			}
			// Pushing the same directory into the ready version's model
			// again with --resume finds nothing to resume.
			if r := u.run(context.Background(), "", "push", "--resume", "big", dir); r.code == 0 {
				t.Errorf("push --resume after a finished push: exit 0, want an error")
			}
		})
	}
}

// TestPushFileChangedMidway: a large file is not hashed whole before it is
// pushed (its parts' checksums carry it, and the server hashes the whole at
// completion), so a file rewritten while its parts go is caught by its
// size and modification time when its session completes: the push fails
// saying so, and the version stays pending.
func TestPushFileChangedMidway(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			database, blobs := b.New(t)
			ts := startServer(t, database, blobs)
			u := newUser(t, ts, modelkeep.RolePublisher)
			dir := writeTree(t, 3, map[string]int64{"w.bin": 40 << 20, "small.txt": 100})
			path := filepath.Join(dir, "w.bin")
			var changed atomic.Bool
			u.meter.set(func(m *meter) {
				m.onSent = func(n int64) {
					if n < 8<<20 || !changed.CompareAndSwap(false, true) {
						return
					}
					f, err := os.OpenFile(path, os.O_WRONLY, 0)
					if err != nil {
						t.Error(err)
						return
					}
					_, err = f.WriteAt([]byte("rewritten"), 39<<20)
					f.Close()
					later := time.Now().Add(2 * time.Second)
					if err == nil {
						err = os.Chtimes(path, later, later)
					}
					if err != nil {
						t.Error(err)
					}
				}
			})
			r := u.run(context.Background(), "", "push", "--create-model", "m", dir, "--finalize", "--parallel", "1")
			if !changed.Load() {
				t.Fatal("the file was not changed during the push")
			}
			if r.code == 0 || !strings.Contains(r.stderr, "changed while it was pushed") {
				t.Fatalf("push of a file changed midway: exit %d, want a failure saying it changed\n%s", r.code, r.stderr)
			}
			c := client.New(ts.url, ts.tokens[modelkeep.RoleAdmin], nil)
			if v, err := c.GetVersion(context.Background(), "m", 1); err != nil || v.Status != "pending" {
				t.Errorf("version 1 after the failed push: %+v, %v; want pending", v, err)
			}
		})
	}
}

// TestPushPartChecksumRetry: the first part of a resumable upload and the
// first single-request file arrive with a byte changed (below the
// client): the server refuses both with 422 (on S3 the part goes straight
// to the bucket, which refuses it with 400 BadDigest) and the client sends
// them again, so the push succeeds with the directory's bytes.
func TestPushPartChecksumRetry(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			database, blobs := b.New(t)
			ts := startServer(t, database, blobs)
			u := newUser(t, ts, modelkeep.RolePublisher)
			dir := writeTree(t, 2, map[string]int64{"w.bin": 12 << 20, "small.txt": 100})
			var partDone, fileDone atomic.Bool
			u.meter.set(func(m *meter) {
				m.corrupt = func(req *http.Request) bool {
					if req.Method != http.MethodPut {
						return false
					}
					if strings.Contains(req.URL.Path, "/parts/") || req.URL.Query().Has("partNumber") {
						return partDone.CompareAndSwap(false, true)
					}
					if strings.HasPrefix(req.URL.Path, "/api/v1/") && strings.Contains(req.URL.Path, "/files/") {
						return fileDone.CompareAndSwap(false, true)
					}
					return false
				}
			})
			out := decode[pushJSON](t, u.must("push", "--create-model", "m", dir, "--finalize", "--output", "json"))
			refused := u.meter.sawStatus(http.StatusUnprocessableEntity)
			if strings.HasPrefix(blobs, "s3://") {
				refused += u.meter.sawStatus(http.StatusBadRequest) // the bucket's BadDigest
			}
			if refused != 2 {
				t.Errorf("%d requests were refused for their bytes, want 2 (the corrupted part and file)", refused)
			}
			want := treeSums(t, dir)
			v := decode[client.Version](t, u.must("versions", "show", "m@1", "--output", "json"))
			if len(v.Files) != 2 || v.ManifestDigest != out.ManifestDigest {
				t.Fatalf("version: %+v; push said %s", v, out.ManifestDigest)
			}
			for _, f := range v.Files {
				if want[f.Path] != f.SHA256 {
					t.Errorf("%s: the server recorded %s, the file is %s", f.Path, f.SHA256, want[f.Path])
				}
			}
		})
	}
}

// TestPullInterrupted: a pull cancelled at about half of its bytes exits
// 130 and leaves neither DIR nor its hidden temporary directory; run
// again it places the version, byte for byte (and again over it with
// --force --fsync).
func TestPullInterrupted(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			database, blobs := b.New(t)
			ts := startServer(t, database, blobs)
			pub := newUser(t, ts, modelkeep.RolePublisher)
			src := writeTree(t, 3, map[string]int64{"model.bin": 48 << 20, "a/config.json": 2000, "b/c/d.txt": 10, "empty": 0})
			pub.must("push", "--create-model", "m", src, "--finalize")

			u := newUser(t, ts, modelkeep.RolePublisher)
			parent := t.TempDir()
			dest := filepath.Join(parent, "out")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			u.meter.set(func(m *meter) {
				m.onReceived = func(n int64) {
					if n >= 24<<20 {
						cancel()
					}
				}
			})
			r := u.run(ctx, "", "pull", "m@1", dest, "--chunk-size", "8388608")
			if r.code != cli.ExitInterrupted {
				t.Fatalf("interrupted pull: exit %d, want %d\n%s", r.code, cli.ExitInterrupted, r.stderr)
			}
			if left, _ := os.ReadDir(parent); len(left) != 0 {
				t.Fatalf("the interrupted pull left %v in %s", names(left), parent)
			}
			t.Logf("interrupted after %d bytes received", u.meter.received.Load())
			u.meter.set(func(m *meter) { m.onReceived = nil })

			out := u.must("pull", "m@1", dest, "--chunk-size", "8388608")
			digest := strings.TrimSpace(out)
			if got, want := treeSums(t, dest), treeSums(t, src); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("pulled files %v, want %v", got, want)
			}
			if !strings.HasPrefix(digest, "sha256:") {
				t.Errorf("pull printed %q, want the manifest digest", out)
			}
			if left, _ := os.ReadDir(parent); len(left) != 1 {
				t.Errorf("after the pull %s holds %v, want only out", parent, names(left))
			}
			// DIR is not empty now: a second pull refuses without --force.
			if r := u.run(context.Background(), "", "pull", "m@1", dest); r.code == 0 || !strings.Contains(r.stderr, "--force") {
				t.Errorf("pull into a full directory: exit %d, %s", r.code, r.stderr)
			}
			u.must("pull", "m@1", dest, "--force", "--quiet", "--fsync")
			if got, want := treeSums(t, dest), treeSums(t, src); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("pulled with --force --fsync: %v, want %v", got, want)
			}
		})
	}
}

func names(ents []os.DirEntry) []string {
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// TestPullCorruptBlob: a file's bytes changed in the blob store behind the
// server's back (same size) make the pull fail with exit 6 naming the
// file, and nothing appears in DIR.
func TestPullCorruptBlob(t *testing.T) {
	const odd = 7_340_033 // a size no other blob has
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			database, blobs := b.New(t)
			ts := startServer(t, database, blobs)
			u := newUser(t, ts, modelkeep.RolePublisher)
			src := writeTree(t, 4, map[string]int64{"weights/model.safetensors": odd, "config.json": 777})
			u.must("push", "--create-model", "m", src, "--finalize")
			corruptBlob(t, blobs, odd)

			for _, chunk := range []string{"33554432", "1048576"} { // one range, several ranges
				dest := filepath.Join(t.TempDir(), "out")
				r := u.run(context.Background(), "", "pull", "m@1", dest, "--chunk-size", chunk)
				if r.code != cli.ExitVerify || !strings.Contains(r.stderr, "weights/model.safetensors") || !strings.Contains(r.stderr, "sha256 mismatch") {
					t.Errorf("pull of a corrupted blob (chunk %s): exit %d, want %d naming the file\n%s", chunk, r.code, cli.ExitVerify, r.stderr)
				}
				if left, _ := os.ReadDir(filepath.Dir(dest)); len(left) != 0 {
					t.Errorf("the failed pull left %v", names(left))
				}
			}
		})
	}
}

// corruptBlob flips a byte in the middle of the one blob of the given size.
func corruptBlob(t *testing.T, blobs string, size int64) {
	t.Helper()
	found := 0
	if dir, ok := strings.CutPrefix(blobs, "file:"); ok {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			info, err := d.Info()
			if err != nil || info.Size() != size {
				return err
			}
			f, err := os.OpenFile(p, os.O_RDWR, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			var one [1]byte
			if _, err := f.ReadAt(one[:], size/2); err != nil {
				return err
			}
			one[0] ^= 0x01
			_, err = f.WriteAt(one[:], size/2)
			found++
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	} else {
		u, err := url.Parse(blobs)
		if err != nil {
			t.Fatal(err)
		}
		s3c, _ := testenv.S3Client(t)
		ctx := context.Background()
		list, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(u.Host)})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range list.Contents {
			if aws.ToInt64(o.Size) != size {
				continue
			}
			obj, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(u.Host), Key: o.Key})
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(obj.Body)
			obj.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			body[size/2] ^= 0x01
			if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(u.Host), Key: o.Key, Body: bytes.NewReader(body)}); err != nil {
				t.Fatal(err)
			}
			found++
		}
	}
	if found != 1 {
		t.Fatalf("found %d blobs of %d bytes, want 1", found, size)
	}
}

// TestLoginAndCommands: login stores the server and token in a 0600 file
// (after checking the token); the environment overrides the file; every
// command's --output json parses; a publisher pushes, requests production,
// an approver approves (four eyes), a deployer pulls by stage and by alias
// and records a canary deployment; exit codes follow --help.
func TestLoginAndCommands(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			database, blobs := b.New(t)
			ts := startServer(t, database, blobs)
			pub := newUser(t, ts, modelkeep.RolePublisher)
			delete(pub.env, "MODELKEEP_URL")
			delete(pub.env, "MODELKEEP_TOKEN")
			bg := context.Background()

			if r := pub.run(bg, "", "models", "list"); r.code != cli.ExitAuth {
				t.Errorf("models list before login: exit %d, want %d\n%s", r.code, cli.ExitAuth, r.stderr)
			}
			if r := pub.run(bg, "not-a-token\n", "login", ts.url); r.code != cli.ExitAuth {
				t.Errorf("login with a bad token: exit %d, want %d\n%s", r.code, cli.ExitAuth, r.stderr)
			}
			cfg := filepath.Join(pub.env["XDG_CONFIG_HOME"], "modelkeep", "config.json")
			if _, err := os.Stat(cfg); err == nil {
				t.Fatalf("a refused login wrote %s", cfg)
			}
			pub.must2(ts.tokens[modelkeep.RolePublisher]+"\n", "login", ts.url)
			info, err := os.Stat(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if info.Mode().Perm() != 0o600 {
				t.Errorf("%s has mode %v, want 0600", cfg, info.Mode().Perm())
			}
			saved := decode[cli.Config](t, readFile(t, cfg))
			if saved.Server != ts.url || saved.Token != ts.tokens[modelkeep.RolePublisher] {
				t.Errorf("config %+v", saved)
			}

			// From the file alone.
			decode[map[string]any](t, pub.must("models", "create", "fraud", "--description", "d", "--output", "json"))
			ms := decode[struct{ Models []client.Model }](t, pub.must("models", "list", "--output", "json"))
			if len(ms.Models) != 1 || ms.Models[0].Name != "fraud" {
				t.Errorf("models list: %+v", ms)
			}
			if out := pub.must("models", "list"); !strings.Contains(out, "NAME") || !strings.Contains(out, "fraud") {
				t.Errorf("models list table:\n%s", out)
			}
			// The environment overrides the file: a bad token fails, a bad
			// URL in the file is overridden by MODELKEEP_URL.
			pub.env["MODELKEEP_TOKEN"] = "bad"
			if r := pub.run(bg, "", "models", "list"); r.code != cli.ExitAuth {
				t.Errorf("MODELKEEP_TOKEN=bad: exit %d, want %d", r.code, cli.ExitAuth)
			}
			delete(pub.env, "MODELKEEP_TOKEN")
			pub.must2("", "login", "http://127.0.0.1:9", "--token", ts.tokens[modelkeep.RolePublisher], "--no-verify")
			pub.env["MODELKEEP_URL"] = ts.url
			pub.must("models", "show", "fraud")

			src := writeTree(t, 5, map[string]int64{"model.bin": 3 << 20, "config.json": 50})
			pushed := decode[pushJSON](t, pub.must("push", "fraud", src, "--param", "lr=0.05", "--tag", "team=risk",
				"--dataset", "tx@2024-06:training", "--run", "run-42", "--description", "first", "--finalize", "--output", "json"))
			v := decode[client.Version](t, pub.must("versions", "show", "fraud@1", "--output", "json"))
			if v.Params["lr"] != "0.05" || v.Tags["team"] != "risk" || v.Source == nil || v.Source.RunID != "run-42" ||
				len(v.Datasets) != 1 || v.Datasets[0].Role != "training" || v.ManifestDigest != pushed.ManifestDigest || len(v.Files) != 2 {
				t.Errorf("versions show: %+v", v)
			}
			vl := decode[struct{ Versions []client.Version }](t, pub.must("versions", "list", "fraud", "--output", "json"))
			if len(vl.Versions) != 1 {
				t.Errorf("versions list: %+v", vl)
			}
			if r := pub.run(bg, "", "versions", "show", "nope@1"); r.code != cli.ExitNotFound {
				t.Errorf("versions show of a missing model: exit %d, want %d", r.code, cli.ExitNotFound)
			}

			tr := decode[client.Transition](t, pub.must("transitions", "request", "fraud@1", "--to", "production", "--comment", "ship", "--output", "json"))
			if tr.Status != "pending" || tr.ID == "" {
				t.Fatalf("transitions request: %+v", tr)
			}
			if r := pub.run(bg, "", "transitions", "approve", tr.ID, "--comment", "me"); r.code != cli.ExitAuth {
				t.Errorf("the requester approving: exit %d, want %d\n%s", r.code, cli.ExitAuth, r.stderr)
			}
			appr := newUser(t, ts, modelkeep.RoleApprover)
			tl := decode[struct{ Transitions []client.Transition }](t, appr.must("transitions", "list", "--status", "pending", "--output", "json"))
			if len(tl.Transitions) != 1 || tl.Transitions[0].ID != tr.ID {
				t.Errorf("transitions list: %+v", tl)
			}
			done := decode[client.Transition](t, appr.must("transitions", "approve", tr.ID, "--comment", "looks good", "--output", "json"))
			if done.Status != "approved" || len(done.Approvals) != 1 {
				t.Errorf("approve: %+v", done)
			}
			decode[client.Transition](t, appr.must("transitions", "show", tr.ID, "--output", "json"))

			// An alias, set over the API (the CLI has no alias command).
			req, _ := http.NewRequest(http.MethodPut, ts.url+"/api/v1/models/fraud/aliases/champion", strings.NewReader(`{"version":1}`))
			req.Header.Set("Authorization", "Bearer "+ts.tokens[modelkeep.RoleAdmin])
			req.Header.Set("Content-Type", "application/json")
			if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("set alias: %v %v", resp, err)
			} else {
				resp.Body.Close()
			}

			dep := newUser(t, ts, modelkeep.RoleDeployer)
			dest := filepath.Join(t.TempDir(), "prod")
			pulled := decode[struct {
				client.PullResult
				Deployment *client.Deployment `json:"deployment"`
			}](t, dep.must("pull", "fraud@production", dest, "--record-deployment", "prod-eu", "--strategy", "canary", "--traffic", "10", "--output", "json"))
			if pulled.Version != 1 || pulled.ManifestDigest != pushed.ManifestDigest || pulled.Deployment == nil ||
				pulled.Deployment.Strategy != "canary" || pulled.Deployment.TrafficPercent != 10 || pulled.Deployment.Environment != "prod-eu" {
				t.Errorf("pull --record-deployment: %+v %+v", pulled.PullResult, pulled.Deployment)
			}
			if got, want := treeSums(t, dest), treeSums(t, src); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("pulled %v, want %v", got, want)
			}
			if out := strings.TrimSpace(dep.must("pull", "fraud@champion", filepath.Join(t.TempDir(), "c"))); out != pushed.ManifestDigest {
				t.Errorf("pull by alias printed %q, want %s", out, pushed.ManifestDigest)
			}

			aud := newUser(t, ts, modelkeep.RoleAuditor)
			evs := decode[struct{ Events []client.AuditEvent }](t, aud.must("audit", "list", "--action", "transition.approve", "--output", "json"))
			if len(evs.Events) == 0 {
				t.Fatalf("audit list --action transition.approve: no events")
			}
			ev := decode[client.AuditEvent](t, aud.must("audit", "show", fmt.Sprint(evs.Events[0].Seq), "--output", "json"))
			if ev.Seq != evs.Events[0].Seq || ev.Hash == "" {
				t.Errorf("audit show: %+v", ev)
			}
			if out := aud.must("audit", "list", "--limit", "5"); !strings.Contains(out, "SEQ") {
				t.Errorf("audit list table:\n%s", out)
			}
		})
	}
}

// TestHelp: every command answers -h with its usage and exit 0; bad
// usage exits 2.
func TestHelp(t *testing.T) {
	u := &user{t: t, env: map[string]string{}, meter: &meter{}, client: http.DefaultClient}
	cmds := [][]string{
		{"login"}, {"push"}, {"pull"},
		{"models", "list"}, {"models", "show"}, {"models", "create"},
		{"versions", "list"}, {"versions", "show"}, {"versions", "finalize"},
		{"transitions", "list"}, {"transitions", "show"}, {"transitions", "request"}, {"transitions", "approve"}, {"transitions", "reject"},
		{"audit", "list"}, {"audit", "show"},
	}
	for _, c := range cmds {
		t.Run(strings.Join(c, "_"), func(t *testing.T) {
			r := u.run(context.Background(), "", append(c, "-h")...)
			if r.code != 0 || !strings.Contains(r.stdout, "Usage: modelkeep "+strings.Join(c, " ")) ||
				!strings.Contains(r.stdout, "-output") || !strings.Contains(r.stdout, "Exit codes") {
				t.Errorf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			if r := u.run(context.Background(), "", append(c, "--no-such-flag")...); r.code != cli.ExitUsage {
				t.Errorf("a bad flag: exit %d, want %d", r.code, cli.ExitUsage)
			}
		})
	}
	for _, g := range []string{"models", "versions", "transitions", "audit"} {
		if r := u.run(context.Background(), "", g, "--help"); r.code != 0 || !strings.Contains(r.stdout, "Commands:") {
			t.Errorf("%s --help: exit %d\n%s", g, r.code, r.stdout)
		}
	}
	if r := u.run(context.Background(), "", "pull", "no-ref", "dir"); r.code != cli.ExitUsage {
		t.Errorf("pull without @: exit %d, want %d", r.code, cli.ExitUsage)
	}
	for _, args := range [][]string{{"push", "m", "d"}, {"audit", "list"}, {"login", "u"}, {"models"}} {
		if !cli.Handles(args) {
			t.Errorf("Handles(%q) = false", args)
		}
	}
	for _, args := range [][]string{{"serve"}, {"audit", "verify"}, {"audit", "prune"}, {"token", "create"}, {"help"}, {}} {
		if cli.Handles(args) {
			t.Errorf("Handles(%q) = true: the server's command", args)
		}
	}
}

// must2 is must with standard input.
func (u *user) must2(stdin string, args ...string) string {
	u.t.Helper()
	r := u.run(context.Background(), stdin, args...)
	if r.code != 0 {
		u.t.Fatalf("modelkeep %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestProgressOutput: on a terminal push and pull draw bars (a bar per
// file and a total with its rate); in a log they print a line per file
// and a total; --quiet prints only the digest.
func TestProgressOutput(t *testing.T) {
	database, blobs := testenv.Backends()[0].New(t)
	ts := startServer(t, database, blobs)
	u := newUser(t, ts, modelkeep.RolePublisher)
	src := writeTree(t, 6, map[string]int64{"big.bin": 20 << 20, "small.txt": 10})
	u.terminal = true
	r := u.run(context.Background(), "", "push", "--create-model", "p", src, "--finalize")
	if r.code != 0 || !strings.Contains(r.stderr, "total") || !strings.Contains(r.stderr, "big.bin") || !strings.Contains(r.stderr, "/s") {
		t.Errorf("push on a terminal: exit %d\n%s", r.code, r.stderr)
	}
	digest := strings.TrimSpace(r.stdout)
	r = u.run(context.Background(), "", "pull", "p@1", filepath.Join(t.TempDir(), "a"))
	if r.code != 0 || !strings.Contains(r.stderr, "total") || strings.TrimSpace(r.stdout) != digest {
		t.Errorf("pull on a terminal: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	u.terminal = false
	r = u.run(context.Background(), "", "pull", "p@1", filepath.Join(t.TempDir(), "b"))
	if r.code != 0 || !strings.Contains(r.stderr, "downloaded big.bin (20.0 MiB)") || !strings.Contains(r.stderr, "done: download 20.0 MiB of 20.0 MiB (100%)") {
		t.Errorf("pull in a log: exit %d\n%s", r.code, r.stderr)
	}
	r = u.run(context.Background(), "", "pull", "p@1", filepath.Join(t.TempDir(), "c"), "--quiet")
	if r.code != 0 || r.stderr != "" || strings.TrimSpace(r.stdout) != digest {
		t.Errorf("pull --quiet: exit %d, stderr %q, stdout %q", r.code, r.stderr, r.stdout)
	}
}

// TestPushResumeChangedPart: a file rewritten (same size) between an
// interrupted push and its --resume has a part the session received with
// other bytes; the resume finds it by the part's checksum (SHA-256 through
// the server, CRC32C straight to S3), sends it again, and the version holds
// the file as it is now.
func TestPushResumeChangedPart(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			database, blobs := b.New(t)
			ts := startServer(t, database, blobs)
			u := newUser(t, ts, modelkeep.RolePublisher)
			const size = 48 << 20 // ten parts of 5 MiB (startServer's part size)
			dir := writeTree(t, 4, map[string]int64{"weights.bin": size})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			u.meter.set(func(m *meter) {
				m.onSent = func(n int64) {
					if n >= size/2 {
						cancel()
					}
				}
			})
			if r := u.run(ctx, "", "push", "--create-model", "m", dir, "--parallel", "1"); r.code != cli.ExitInterrupted {
				t.Fatalf("interrupted push: exit %d\n%s", r.code, r.stderr)
			}
			u.meter.set(func(m *meter) { m.onSent = nil })
			// Part 1 arrived (the push sent half the file, in order): change
			// a byte of it in place.
			path := filepath.Join(dir, "weights.bin")
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			one := []byte{0}
			if _, err := f.ReadAt(one, 1000); err != nil {
				t.Fatal(err)
			}
			one[0] ^= 0xff
			if _, err := f.WriteAt(one, 1000); err != nil {
				t.Fatal(err)
			}
			f.Close()

			before := len(u.meter.seen())
			out := decode[pushJSON](t, u.must("push", "--resume", "m", dir, "--finalize", "--output", "json"))
			resent := false // part 1, the changed one, sent again
			for _, r := range u.meter.seen()[before:] {
				if isPartPut(r) && r.status/100 == 2 && (strings.HasSuffix(r.path, "/parts/1") || r.query.Get("partNumber") == "1") {
					resent = true
				}
			}
			if !resent {
				t.Error("the resume did not send part 1, which changed, again")
			}
			want := treeSums(t, dir)["weights.bin"]
			v := decode[client.Version](t, u.must("versions", "show", "m@1", "--output", "json"))
			if len(v.Files) != 1 || v.Files[0].SHA256 != want || v.ManifestDigest != out.ManifestDigest {
				t.Fatalf("version %+v, want weights.bin with sha256 %s (the file as it is now)", v, want)
			}
		})
	}
}
