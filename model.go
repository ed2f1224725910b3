package modelkeep

import (
	"time"
)

// Model is a named family of versions.
type Model struct {
	Name        string
	Description string
	Tags        map[string]string
	CreatedBy   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// LatestVersion is the highest version number ever created (0: none).
	LatestVersion int
	// ProductionVersion is the version in production (0: none).
	ProductionVersion int
}

// VersionStatus is the lifecycle of a version's content.
type VersionStatus string

const (
	// StatusPending: files may still be uploaded and replaced.
	StatusPending VersionStatus = "pending"
	// StatusReady: finalized; files, params, datasets and source are immutable.
	StatusReady VersionStatus = "ready"
)

// Stage is where a version stands in the promotion workflow.
type Stage string

const (
	StageNone       Stage = "none"
	StageStaging    Stage = "staging"
	StageProduction Stage = "production"
	StageArchived   Stage = "archived"
)

// Source says which run produced a version.
type Source struct {
	RunID     string
	GitCommit string
	CodeURI   string
}

// DatasetRef is a dataset a version was trained or evaluated on.
type DatasetRef struct {
	Name    string
	Version string
	URI     string
	SHA256  string
	Role    string
}

// VersionRef names one version of one model.
type VersionRef struct {
	Model   string
	Version int
}

// Version is one numbered, eventually immutable release of a model.
type Version struct {
	Model          string
	Number         int
	Description    string
	Tags           map[string]string
	Params         map[string]string
	Source         Source
	Datasets       []DatasetRef
	Parent         *VersionRef
	Status         VersionStatus
	Stage          Stage
	Aliases        []string
	ManifestDigest string
	CreatedBy      string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	FinalizedAt    *time.Time
	// EverProduction is true once the version has been in production: such a
	// version's documentation must be kept (EU AI Act Art. 18).
	EverProduction bool
	// SortValue is, in a list sorted by a metric, the version's value of it
	// as the list read it (nil when it has none): the next page's token is
	// made of it. Never shown to clients.
	SortValue *float64
}

// CheckReleased is the deployer's download rule: deployers pull only what
// was released, versions that are ready and in staging or production, or
// that were once in production (Actor.DownloadsReleasedOnly says who is
// held to it).
func CheckReleased(v Version) error {
	if v.Status != StatusReady {
		return Errorf(ErrForbidden, "version %s/%d is %s: deployers may download ready versions only", v.Model, v.Number, v.Status)
	}
	if v.Stage != StageStaging && v.Stage != StageProduction && !v.EverProduction {
		return Errorf(ErrForbidden, "version %s/%d is in stage %s: deployers may download versions in staging or production, or once in production", v.Model, v.Number, v.Stage)
	}
	return nil
}

// File is one artifact of a version.
type File struct {
	Path      string
	Size      int64
	SHA256    string // lowercase hex
	BlobKey   string // opaque key in the blob store; never shown to clients
	CreatedAt time.Time
}

// RequestInfo describes the HTTP request a use case runs for; it is recorded
// in audit events.
type RequestInfo struct {
	RequestID  string
	RemoteAddr string
}
