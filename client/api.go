package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// The wire shapes the client reads (openapi.yaml, components/schemas);
// fields it does not use are left out, so Raw keeps whole answers where a
// caller wants to print them as they came.

// Model is a registered model.
type Model struct {
	Name              string            `json:"name"`
	Description       string            `json:"description,omitempty"`
	Tags              map[string]string `json:"tags,omitempty"`
	LatestVersion     int               `json:"latest_version,omitempty"`
	ProductionVersion int               `json:"production_version,omitempty"`
	CreatedBy         string            `json:"created_by,omitempty"`
	CreatedAt         time.Time         `json:"created_at"`
	UpdatedAt         time.Time         `json:"updated_at"`
}

// DatasetRef is a dataset version a version was trained or tested on.
type DatasetRef struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	URI     string `json:"uri,omitempty"`
	SHA256  string `json:"sha256,omitempty"`
	Role    string `json:"role,omitempty"`
}

// Source is where a version came from.
type Source struct {
	RunID     string `json:"run_id,omitempty"`
	GitCommit string `json:"git_commit,omitempty"`
	CodeURI   string `json:"code_uri,omitempty"`
}

// Version is a version of a model.
type Version struct {
	Model          string            `json:"model"`
	Version        int               `json:"version"`
	Description    string            `json:"description,omitempty"`
	Tags           map[string]string `json:"tags,omitempty"`
	Params         map[string]string `json:"params,omitempty"`
	Source         *Source           `json:"source,omitempty"`
	Datasets       []DatasetRef      `json:"datasets,omitempty"`
	Status         string            `json:"status"`
	Stage          string            `json:"stage"`
	Aliases        []string          `json:"aliases,omitempty"`
	ManifestDigest string            `json:"manifest_digest,omitempty"`
	CreatedBy      string            `json:"created_by,omitempty"`
	CreatedAt      time.Time         `json:"created_at"`
	FinalizedAt    *time.Time        `json:"finalized_at,omitempty"`
	// Files come with a version read through its stage.
	Files []File `json:"files,omitempty"`
}

// VersionInput is the body that opens a version.
type VersionInput struct {
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	Params      map[string]string `json:"params,omitempty"`
	Source      *Source           `json:"source,omitempty"`
	Datasets    []DatasetRef      `json:"datasets,omitempty"`
}

// File is a file of a version.
type File struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// FileList is a version's files and, once ready, its manifest digest.
type FileList struct {
	Files          []File `json:"files"`
	ManifestDigest string `json:"manifest_digest,omitempty"`
}

// Upload is a resumable upload session (docs/uploads.md).
type Upload struct {
	ID        string `json:"id"`
	Path      string `json:"path"`
	Size      int64  `json:"size"`
	SHA256    string `json:"sha256,omitempty"`
	PartSize  int64  `json:"part_size"`
	PartCount int    `json:"part_count"`
	Status    string `json:"status"`
	// PresignedParts: parts may go straight to the blob store
	// (PresignParts).
	PresignedParts bool `json:"presigned_parts"`
	// PartChecksum is the checksum a presigned part is signed with
	// ("crc32c", or "sha256" for sessions of older servers).
	PartChecksum  string       `json:"part_checksum,omitempty"`
	Parts         []UploadPart `json:"parts,omitempty"`
	ReceivedBytes int64        `json:"received_bytes,omitempty"`
}

// UploadPart is a part a session received.
type UploadPart struct {
	Number int   `json:"number"`
	Size   int64 `json:"size"`
	// SHA256 is the part's as the server hashed it; a part sent straight
	// to a blob store that keeps CRC32C has only its CRC32C (hex).
	SHA256 string `json:"sha256,omitempty"`
	CRC32C string `json:"crc32c,omitempty"`
}

// GateResult is a promotion gate evaluated for an approval.
type GateResult struct {
	Gate   string `json:"gate"`
	Passed bool   `json:"passed"`
	Detail string `json:"detail"`
}

// Approval is an approval of a transition.
type Approval struct {
	Approver string       `json:"approver"`
	Comment  string       `json:"comment,omitempty"`
	At       time.Time    `json:"at"`
	Gates    []GateResult `json:"gates,omitempty"`
}

// Transition is a request to move a version to a stage.
type Transition struct {
	ID                string     `json:"id"`
	Model             string     `json:"model"`
	Version           int        `json:"version"`
	To                string     `json:"to"`
	Status            string     `json:"status"`
	Comment           string     `json:"comment,omitempty"`
	RequestedBy       string     `json:"requested_by"`
	RequestedAt       time.Time  `json:"requested_at"`
	RequiredApprovals int        `json:"required_approvals,omitempty"`
	Approvals         []Approval `json:"approvals,omitempty"`
	DecidedBy         string     `json:"decided_by,omitempty"`
	DecidedAt         *time.Time `json:"decided_at,omitempty"`
}

// Deployment is an entry of the deployments ledger.
type Deployment struct {
	ID             string    `json:"id"`
	Model          string    `json:"model"`
	Version        int       `json:"version"`
	Environment    string    `json:"environment"`
	Strategy       string    `json:"strategy"`
	TrafficPercent int       `json:"traffic_percent"`
	DeployedBy     string    `json:"deployed_by"`
	DeployedAt     time.Time `json:"deployed_at"`
}

// AuditEvent is an event of the audit log.
type AuditEvent struct {
	Seq        int64           `json:"seq"`
	Time       time.Time       `json:"time"`
	Actor      string          `json:"actor"`
	Action     string          `json:"action"`
	Resource   string          `json:"resource"`
	Outcome    string          `json:"outcome"`
	RequestID  string          `json:"request_id"`
	RemoteAddr string          `json:"remote_addr"`
	Details    json.RawMessage `json:"details"`
	PrevHash   string          `json:"prev_hash"`
	Hash       string          `json:"hash"`
}

// pages fetches every page of a list (at most limit items when limit > 0).
func pages[T any](ctx context.Context, c *Client, path, key string, q url.Values, limit int) ([]T, error) {
	if q == nil {
		q = url.Values{}
	}
	q = cloneValues(q)
	q.Set("page_size", "200")
	var out []T
	for {
		var page map[string]json.RawMessage
		if err := c.doJSON(ctx, request{method: http.MethodGet, path: path, query: q}, &page); err != nil {
			return nil, err
		}
		var items []T
		if raw, ok := page[key]; ok {
			if err := json.Unmarshal(raw, &items); err != nil {
				return nil, fmt.Errorf("GET %s: decode %s: %w", path, key, err)
			}
		}
		out = append(out, items...)
		if limit > 0 && len(out) >= limit {
			return out[:limit], nil
		}
		var next string
		if raw, ok := page["next_page_token"]; ok {
			_ = json.Unmarshal(raw, &next)
		}
		if next == "" {
			return out, nil
		}
		q.Set("page_token", next)
	}
}

func cloneValues(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		if len(v) > 0 && v[0] != "" {
			out[k] = append([]string(nil), v...)
		}
	}
	return out
}

// ListModels lists models, filtered by q (name or description substring)
// and tag (key:value) when given.
func (c *Client) ListModels(ctx context.Context, q, tag string, limit int) ([]Model, error) {
	return pages[Model](ctx, c, "/api/v1/models", "models", url.Values{"q": {q}, "tag": {tag}}, limit)
}

// GetModel reads one model.
func (c *Client) GetModel(ctx context.Context, name string) (Model, error) {
	var m Model
	err := c.doJSON(ctx, request{method: http.MethodGet, path: "/api/v1/models/" + seg(name)}, &m)
	return m, err
}

// CreateModel registers a model.
func (c *Client) CreateModel(ctx context.Context, name, description string) (Model, error) {
	var m Model
	body := map[string]any{"name": name}
	if description != "" {
		body["description"] = description
	}
	err := c.doJSON(ctx, request{method: http.MethodPost, path: "/api/v1/models", json: body, ok: []int{http.StatusCreated}}, &m)
	return m, err
}

// CreateVersion opens a pending version with the model's next number.
func (c *Client) CreateVersion(ctx context.Context, model string, in VersionInput) (Version, error) {
	var v Version
	err := c.doJSON(ctx, request{method: http.MethodPost, path: "/api/v1/models/" + seg(model) + "/versions", json: in,
		ok: []int{http.StatusCreated}}, &v)
	return v, err
}

// GetVersion reads one version.
func (c *Client) GetVersion(ctx context.Context, model string, version int) (Version, error) {
	var v Version
	err := c.doJSON(ctx, request{method: http.MethodGet, path: versionPath(model, version)}, &v)
	return v, err
}

// ListVersions lists a model's versions, newest first.
func (c *Client) ListVersions(ctx context.Context, model, stage, status string, limit int) ([]Version, error) {
	return pages[Version](ctx, c, "/api/v1/models/"+seg(model)+"/versions", "versions",
		url.Values{"stage": {stage}, "status": {status}}, limit)
}

// VersionInStage reads the version now in a stage, with its files.
func (c *Client) VersionInStage(ctx context.Context, model, stage string) (Version, error) {
	var v Version
	err := c.doJSON(ctx, request{method: http.MethodGet, path: "/api/v1/models/" + seg(model) + "/stages/" + seg(stage)}, &v)
	return v, err
}

// GetAlias reads the version an alias points at.
func (c *Client) GetAlias(ctx context.Context, model, alias string) (Version, error) {
	var v Version
	err := c.doJSON(ctx, request{method: http.MethodGet, path: "/api/v1/models/" + seg(model) + "/aliases/" + seg(alias)}, &v)
	return v, err
}

// ListFiles reads a version's files.
func (c *Client) ListFiles(ctx context.Context, model string, version int) (FileList, error) {
	var l FileList
	err := c.doJSON(ctx, request{method: http.MethodGet, path: versionPath(model, version) + "/files"}, &l)
	return l, err
}

// Finalize makes a pending version ready. A version found ready already
// (a finalize whose answer was lost) is returned as it is.
func (c *Client) Finalize(ctx context.Context, model string, version int) (Version, error) {
	var v Version
	err := c.doJSON(ctx, request{method: http.MethodPost, path: versionPath(model, version) + "/finalize", idempotent: true}, &v)
	if StatusOf(err) == http.StatusConflict {
		if got, gerr := c.GetVersion(ctx, model, version); gerr == nil && got.Status == "ready" {
			return got, nil
		}
	}
	return v, err
}

// RequestTransition asks to move a ready version to a stage.
func (c *Client) RequestTransition(ctx context.Context, model string, version int, to, comment string) (Transition, error) {
	var t Transition
	body := map[string]any{"to": to}
	if comment != "" {
		body["comment"] = comment
	}
	err := c.doJSON(ctx, request{method: http.MethodPost, path: versionPath(model, version) + "/transitions", json: body,
		ok: []int{http.StatusCreated}}, &t)
	return t, err
}

// ListTransitions lists transition requests, newest first.
func (c *Client) ListTransitions(ctx context.Context, status, model string, limit int) ([]Transition, error) {
	return pages[Transition](ctx, c, "/api/v1/transitions", "transitions", url.Values{"status": {status}, "model": {model}}, limit)
}

// GetTransition reads one transition request.
func (c *Client) GetTransition(ctx context.Context, id string) (Transition, error) {
	var t Transition
	err := c.doJSON(ctx, request{method: http.MethodGet, path: "/api/v1/transitions/" + seg(id)}, &t)
	return t, err
}

// DecideTransition approves (approve true) or rejects a pending request.
func (c *Client) DecideTransition(ctx context.Context, id string, approve bool, comment string) (Transition, error) {
	verb := "reject"
	if approve {
		verb = "approve"
	}
	var t Transition
	err := c.doJSON(ctx, request{method: http.MethodPost, path: "/api/v1/transitions/" + seg(id) + "/" + verb,
		json: map[string]any{"comment": comment}}, &t)
	return t, err
}

// RecordDeployment adds a rollout of a version to the deployments ledger.
func (c *Client) RecordDeployment(ctx context.Context, model string, version int, env, strategy string, traffic int) (Deployment, error) {
	body := map[string]any{"environment": env}
	if strategy != "" {
		body["strategy"] = strategy
	}
	if traffic > 0 {
		body["traffic_percent"] = traffic
	}
	var d Deployment
	err := c.doJSON(ctx, request{method: http.MethodPost, path: versionPath(model, version) + "/deployments", json: body,
		ok: []int{http.StatusCreated}}, &d)
	return d, err
}

// AuditQuery filters the audit log.
type AuditQuery struct {
	Actor, Action, Resource, Outcome, Since, Until, Order string
	Limit                                                 int
}

// ListAudit lists audit events.
func (c *Client) ListAudit(ctx context.Context, q AuditQuery) ([]AuditEvent, error) {
	return pages[AuditEvent](ctx, c, "/api/v1/audit", "events", url.Values{
		"actor": {q.Actor}, "action": {q.Action}, "resource": {q.Resource}, "outcome": {q.Outcome},
		"since": {q.Since}, "until": {q.Until}, "order": {q.Order},
	}, q.Limit)
}

// GetAuditEvent reads one audit event.
func (c *Client) GetAuditEvent(ctx context.Context, seq int64) (AuditEvent, error) {
	var e AuditEvent
	err := c.doJSON(ctx, request{method: http.MethodGet, path: "/api/v1/audit/events/" + strconv.FormatInt(seq, 10)}, &e)
	return e, err
}

// Ping checks that the server answers and takes the token (a one-item
// list of models).
func (c *Client) Ping(ctx context.Context) error {
	return c.doJSON(ctx, request{method: http.MethodGet, path: "/api/v1/models", query: url.Values{"page_size": {"1"}}}, nil)
}

// -- resumable uploads ----------------------------------------------------

// CreateUpload opens a resumable upload session for one file.
func (c *Client) CreateUpload(ctx context.Context, model string, version int, path string, size int64, sha string) (Upload, error) {
	var u Upload
	body := map[string]any{"path": path, "size": size}
	if sha != "" { // optional: the server verifies it at completion when given
		body["sha256"] = sha
	}
	err := c.doJSON(ctx, request{method: http.MethodPost, path: versionPath(model, version) + "/uploads",
		json: body, ok: []int{http.StatusCreated}}, &u)
	return u, err
}

// GetUpload reads a session with the parts it received.
func (c *Client) GetUpload(ctx context.Context, model string, version int, id string) (Upload, error) {
	var u Upload
	err := c.doJSON(ctx, request{method: http.MethodGet, path: versionPath(model, version) + "/uploads/" + seg(id)}, &u)
	return u, err
}

// ListOpenUploads lists a version's open sessions, newest first.
func (c *Client) ListOpenUploads(ctx context.Context, model string, version int) ([]Upload, error) {
	return pages[Upload](ctx, c, versionPath(model, version)+"/uploads", "uploads", url.Values{"status": {"open"}}, 0)
}

// AbortUpload aborts a session.
func (c *Client) AbortUpload(ctx context.Context, model string, version int, id string) error {
	return c.doJSON(ctx, request{method: http.MethodDelete, path: versionPath(model, version) + "/uploads/" + seg(id),
		ok: []int{http.StatusNoContent}}, nil)
}

// CompleteUpload completes a session; the server verifies the whole file.
func (c *Client) CompleteUpload(ctx context.Context, model string, version int, id string) (File, error) {
	return c.CompleteUploadChecked(ctx, model, version, id, "")
}

// CompleteUploadChecked is CompleteUpload with the whole file's expected
// SHA-256 ("" for none): the server keeps nothing when the file it joined
// has another (422).
func (c *Client) CompleteUploadChecked(ctx context.Context, model string, version int, id, sha256 string) (File, error) {
	var f File
	req := request{method: http.MethodPost, path: versionPath(model, version) + "/uploads/" + seg(id) + "/complete",
		ok: []int{http.StatusOK, http.StatusCreated}, idempotent: true}
	if sha256 != "" {
		req.header = http.Header{"X-Checksum-Sha256": {sha256}}
	}
	err := c.doJSON(ctx, req, &f)
	return f, err
}
