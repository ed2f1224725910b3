package cli

import (
	"context"
	"fmt"

	"github.com/modelkeep/modelkeep/client"
)

const pullUsage = `Usage: modelkeep pull MODEL@production|MODEL@staging|MODEL@ALIAS|MODEL@N DIR [flags]

Downloads a ready version into DIR: --parallel requests at once, large files
as parallel byte ranges, straight from the blob store where the server hands
out presigned URLs (S3), through the server otherwise or with
--through-server. Every file is checked against its size and SHA-256 and the
file list against the version's manifest digest. The files go into a hidden
directory beside DIR first, renamed to DIR only when all of them are verified:
DIR never holds a partial or unverified version. On a mismatch nothing is
placed and the exit code is 6, naming the file. DIR must be missing or empty
unless --force (which replaces it). With --fsync every file is on disk before
DIR is placed, so that not even a power loss right after the pull leaves DIR
with files the disk never got; without it the kernel writes them back in its
own time, as most download tools leave it.

With --record-deployment ENV the pull is recorded in the deployments ledger
(the version must be in staging or production).

  modelkeep pull fraud-detector@production /srv/models/fraud \
      --record-deployment prod-eu --strategy canary --traffic 10
`

func runPull(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "pull", pullUsage)
	force := f.Bool("force", false, "replace DIR when it exists and is not empty")
	parallel := f.Int("parallel", 4, "requests at once")
	chunk := f.Int64("chunk-size", 32<<20, "files larger than this are fetched as parallel ranges of this size")
	throughServer := f.Bool("through-server", false, "fetch every byte through the server, even where it hands out presigned URLs of the blob store (S3)")
	fsync := f.Bool("fsync", false, "make every file durable on disk (fsync) before DIR is placed; waits for the disk")
	deployEnv := f.String("record-deployment", "", "record a deployment of the version to this environment")
	strategy := f.String("strategy", "direct", "deployment strategy: blue_green, canary, rolling, shadow, ab_test or direct")
	traffic := f.Int("traffic", 0, "percent of traffic of the deployment (100 when 0)")
	f.BoolVar(&e.quiet, "quiet", false, "no progress output")
	pos, err := f.parse(args, 2, 2)
	if err != nil {
		return err
	}
	ref, err := client.ParseRef(pos[0])
	if err != nil {
		return usagef("%v", err)
	}
	if *parallel < 1 || *parallel > 64 {
		return usagef("--parallel %d: want 1 to 64", *parallel)
	}
	if *traffic < 0 || *traffic > 100 {
		return usagef("--traffic %d: want 0 to 100", *traffic)
	}
	if *deployEnv == "" && (*traffic != 0 || f.isSet("strategy")) {
		return usagef("--strategy and --traffic go with --record-deployment")
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	ui := newProgress(e, "download", e.quiet)
	res, err := c.Pull(ctx, client.PullOptions{Ref: ref, Dir: pos[1], Force: *force, Parallel: *parallel, ChunkSize: *chunk,
		ThroughServer: *throughServer, Fsync: *fsync, Progress: ui.event})
	ui.close()
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%w: nothing was placed in %s; run the pull again", ctx.Err(), pos[1])
		}
		return err
	}
	out := struct {
		client.PullResult
		Deployment *client.Deployment `json:"deployment,omitempty"`
	}{PullResult: res}
	if *deployEnv != "" {
		d, err := c.RecordDeployment(ctx, res.Model, res.Version, *deployEnv, *strategy, *traffic)
		if err != nil {
			return fmt.Errorf("pulled %s version %d into %s, but recording the deployment failed: %w", res.Model, res.Version, res.Dir, err)
		}
		out.Deployment = &d
	}
	if e.output == "json" {
		return printJSON(e.Stdout, out)
	}
	if !e.quiet {
		fmt.Fprintf(e.Stderr, "pulled %s version %d (%s, %d files) into %s, verified\n", res.Model, res.Version, res.Stage, len(res.Files), res.Dir)
		if out.Deployment != nil {
			fmt.Fprintf(e.Stderr, "recorded deployment %s: %s, %s, %d%%\n", out.Deployment.ID, out.Deployment.Environment, out.Deployment.Strategy, out.Deployment.TrafficPercent)
		}
	}
	fmt.Fprintln(e.Stdout, res.ManifestDigest)
	return nil
}

func (f *flags) isSet(name string) bool {
	set := false
	f.Visit(func(fl *flagT) {
		if fl.Name == name {
			set = true
		}
	})
	return set
}
