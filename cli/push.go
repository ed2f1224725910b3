package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/modelkeep/modelkeep/client"
)

const pushUsage = `Usage: modelkeep push MODEL DIR [flags]

Creates a pending version of MODEL and uploads every file under DIR into it
(paths relative to DIR). Files of at least --threshold go as resumable upload
sessions whose parts are sent --parallel at a time, each with its checksum:
straight to the blob store where the server hands out presigned URLs for them
(S3: each signed with the part's CRC32C, the server verifying each whole file's
SHA-256 at completion), and through the server otherwise or with
--through-server (each with its SHA-256); smaller files in one checked request.
Files the version holds already with the same SHA-256 are skipped. Prints the
manifest digest; with --finalize the version is made ready and its digest
checked against the local one.

If a push is interrupted (Ctrl-C, a lost connection, a crash), run the same
command with --resume: it continues into the same version, sending only the
parts the server has not received. The state of an unfinished push is kept in
$XDG_CACHE_HOME/modelkeep/push/ (else ~/.cache/modelkeep/push/).

A bar per file and a total with rate and ETA are shown on a terminal; plain
lines (a line per file and a total every 10 s) otherwise; nothing with --quiet.

  modelkeep push fraud-detector out/model --param lr=0.05 --run run-42 \
      --dataset transactions@2024-06:training --tag team=risk --finalize
  modelkeep push --resume fraud-detector out/model --finalize
`

// pushState is what an unfinished push leaves for --resume.
type pushState struct {
	Server    string    `json:"server"`
	Model     string    `json:"model"`
	Dir       string    `json:"dir"`
	Version   int       `json:"version"`
	StartedAt time.Time `json:"started_at"`
}

func statePath(e *env, server, model, dir string) (string, error) {
	base, err := cacheDir(e.Getenv)
	if err != nil {
		return "", err
	}
	h := sha256.Sum256([]byte(server + "\n" + model + "\n" + dir))
	return filepath.Join(base, "push", hex.EncodeToString(h[:12])+".json"), nil
}

func readState(path string) (pushState, bool, error) {
	var s pushState
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return s, false, nil
	}
	if err != nil {
		return s, false, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, false, fmt.Errorf("%s: %w", path, err)
	}
	return s, true, nil
}

// parseDataset parses name@version:role (role optional).
func parseDataset(s string) (client.DatasetRef, error) {
	name, rest, ok := strings.Cut(s, "@")
	if !ok || name == "" || rest == "" {
		return client.DatasetRef{}, usagef("--dataset %q: want name@version[:role]", s)
	}
	version, role, _ := strings.Cut(rest, ":")
	if version == "" {
		return client.DatasetRef{}, usagef("--dataset %q: want name@version[:role]", s)
	}
	return client.DatasetRef{Name: name, Version: version, Role: role}, nil
}

func runPush(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "push", pushUsage)
	tags, params := kvFlag{}, kvFlag{}
	var datasets listFlag
	f.Var(tags, "tag", "a tag of the version, key=value (repeatable)")
	f.Var(params, "param", "a training parameter, key=value (repeatable)")
	f.Var(&datasets, "dataset", "a dataset the version was trained or tested on, name@version[:role] (repeatable)")
	run := f.String("run", "", "the run that produced the version (source.run_id)")
	commit := f.String("git-commit", "", "the code's commit (source.git_commit)")
	desc := f.String("description", "", "the version's description")
	finalize := f.Bool("finalize", false, "make the version ready after the upload (checks the manifest digest)")
	resume := f.Bool("resume", false, "continue the unfinished push of MODEL DIR into the same version")
	version := f.Int("version", 0, "push into this existing pending version instead of a new one")
	createModel := f.Bool("create-model", false, "register MODEL first if it does not exist")
	parallel := f.Int("parallel", 4, "requests at once")
	threshold := f.Int64("threshold", 8<<20, "files of at least this many bytes go as resumable uploads")
	throughServer := f.Bool("through-server", false, "send every part through the server, even where the blob store takes parts straight from the client (presigned S3 URLs)")
	f.BoolVar(&e.quiet, "quiet", false, "no progress output")
	pos, err := f.parse(args, 2, 2)
	if err != nil {
		return err
	}
	model, dir := pos[0], pos[1]
	if *parallel < 1 || *parallel > 64 {
		return usagef("--parallel %d: want 1 to 64", *parallel)
	}
	if *resume && *version > 0 {
		return usagef("--resume and --version exclude each other")
	}
	in := client.VersionInput{Description: *desc, Tags: tags, Params: params}
	if *run != "" || *commit != "" {
		in.Source = &client.Source{RunID: *run, GitCommit: *commit}
	}
	for _, d := range datasets {
		ref, err := parseDataset(d)
		if err != nil {
			return err
		}
		in.Datasets = append(in.Datasets, ref)
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if st, err := os.Stat(absDir); err != nil || !st.IsDir() {
		return usagef("%s is not a directory", dir)
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	sp, err := statePath(e, c.BaseURL, model, absDir)
	if err != nil {
		return err
	}
	prev, hasPrev, err := readState(sp)
	if err != nil {
		return err
	}
	v := *version
	switch {
	case *resume && !hasPrev:
		return fmt.Errorf("no unfinished push of %s into %s to resume (state %s): push without --resume", dir, model, sp)
	case *resume:
		v = prev.Version
		got, err := c.GetVersion(ctx, model, v)
		if err != nil {
			return err
		}
		if got.Status == "ready" {
			// Finalized after the state was written (a push interrupted
			// between finalize and clean-up): nothing left to send.
			_ = os.Remove(sp)
			return printPushed(e, pushOutput{PushResult: client.PushResult{Model: model, Version: v, ManifestDigest: got.ManifestDigest}, Status: got.Status})
		}
	case v == 0:
		if hasPrev {
			fmt.Fprintf(e.Stderr, "note: an unfinished push of %s into %s version %d exists; this push starts a new version (use --resume to continue that one)\n",
				dir, model, prev.Version)
		}
		if *createModel {
			if _, err := c.CreateModel(ctx, model, ""); err != nil && client.StatusOf(err) != 409 {
				return err
			}
		}
		nv, err := c.CreateVersion(ctx, model, in)
		if err != nil {
			return err
		}
		v = nv.Version
	}
	if v != prev.Version || !hasPrev {
		data, _ := json.MarshalIndent(pushState{Server: c.BaseURL, Model: model, Dir: absDir, Version: v, StartedAt: time.Now().UTC()}, "", "  ")
		if err := writePrivate(sp, data); err != nil {
			return fmt.Errorf("write the push state: %w", err)
		}
	}
	if !e.quiet && e.output != "json" {
		fmt.Fprintf(e.Stderr, "pushing %s into %s version %d\n", dir, model, v)
	}
	ui := newProgress(e, "upload", e.quiet)
	res, err := c.Push(ctx, client.PushOptions{Model: model, Version: v, Dir: absDir, Parallel: *parallel, Threshold: *threshold,
		ThroughServer: *throughServer, Progress: ui.event})
	ui.close()
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%w: run 'modelkeep push --resume %s %s' to continue version %d", ctx.Err(), model, dir, v)
		}
		return fmt.Errorf("%w (run 'modelkeep push --resume %s %s' to continue version %d)", err, model, dir, v)
	}
	out := pushOutput{PushResult: res, Status: "pending"}
	if *finalize {
		fv, err := c.Finalize(ctx, model, v)
		if err != nil {
			return err
		}
		if fv.ManifestDigest != res.ManifestDigest {
			// The version holds files that are not in DIR (pushed into it
			// before): its digest is not the directory's.
			return &client.VerificationError{What: "manifest digest of the finalized version", Expected: res.ManifestDigest, Actual: fv.ManifestDigest}
		}
		out.Status = fv.Status
	}
	_ = os.Remove(sp)
	return printPushed(e, out)
}

type pushOutput struct {
	client.PushResult
	Status string `json:"status"`
}

func printPushed(e *env, out pushOutput) error {
	if e.output == "json" {
		return printJSON(e.Stdout, out)
	}
	if !e.quiet {
		fmt.Fprintf(e.Stderr, "%s version %d (%s): %d files uploaded, %d skipped, %s sent\n",
			out.Model, out.Version, out.Status, len(out.Uploaded), len(out.Skipped), human(out.BytesSent))
	}
	fmt.Fprintln(e.Stdout, out.ManifestDigest)
	return nil
}
