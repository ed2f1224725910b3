package server

import (
	"cmp"
	"fmt"
	"runtime/debug"
)

// Version and Commit identify the build. Release builds set them (the
// Dockerfile does) with
//
//	-ldflags "-X github.com/modelkeep/modelkeep/server.Version=v1.2.3
//	          -X github.com/modelkeep/modelkeep/server.Commit=<sha>"
//
// When they are empty, the build information go build stamps is read
// instead: the module's version (from the repository's tags) and
// vcs.revision, vcs.modified.
var (
	Version = ""
	Commit  = ""
)

// versionLine is what `modelkeep version` prints.
func versionLine() string {
	version, commit := buildVersion()
	return fmt.Sprintf("modelkeep %s (commit %s)", version, commit)
}

// buildVersion returns the version and commit of this binary.
func buildVersion() (version, commit string) {
	bi, _ := debug.ReadBuildInfo()
	return resolveVersion(Version, Commit, bi)
}

// resolveVersion prefers the stamped version and commit, then the build
// information (bi may be nil), then "devel" and "unknown": a go run, or a
// build outside a repository or with -buildvcs=false, records no commit.
func resolveVersion(version, commit string, bi *debug.BuildInfo) (string, string) {
	if bi != nil {
		if version == "" && bi.Main.Version != "(devel)" {
			version = bi.Main.Version
		}
		if commit == "" {
			commit = vcsCommit(bi.Settings)
		}
	}
	return cmp.Or(version, "devel"), cmp.Or(commit, "unknown")
}

// vcsCommit is the revision go build recorded, marked when the work tree
// had changes.
func vcsCommit(settings []debug.BuildSetting) string {
	var revision string
	modified := false
	for _, s := range settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if revision != "" && modified {
		revision += "-modified"
	}
	return revision
}
