package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
)

// secretWatch collects every secret the package's tests handle (issued
// tokens, database passwords) and every server log, so that TestMain can
// check, once the whole run is over, that no log of any test holds any of
// them: "secrets never appear in logs", over a full run.
type secretWatch struct {
	mu      sync.Mutex
	secrets map[string]bool
	logs    []*syncBuffer
}

var watch = &secretWatch{secrets: map[string]bool{}}

func (w *secretWatch) secret(s string) {
	if len(s) < 8 {
		return // too short to search for without false alarms
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.secrets[s] = true
	// A token's signature alone is a secret too.
	if parts := strings.Split(s, "."); len(parts) == 3 && len(parts[2]) >= 8 {
		w.secrets[parts[2]] = true
	}
}

func (w *secretWatch) log(b *syncBuffer) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.logs = append(w.logs, b)
}

// leaks returns how many (log, secret) pairs matched, and the number of
// log bytes and secrets searched.
func (w *secretWatch) leaks() (leaks, logBytes, secrets int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, b := range w.logs {
		text := b.String()
		logBytes += len(text)
		for s := range w.secrets {
			if strings.Contains(text, s) {
				leaks++
			}
		}
	}
	return leaks, logBytes, len(w.secrets)
}

// watchIssuedToken records the token of a POST /api/v1/tokens response.
func watchIssuedToken(req *http.Request, resp *http.Response) {
	if req.Method != http.MethodPost || req.URL.Path != "/api/v1/tokens" || resp.StatusCode != http.StatusCreated {
		return
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return
	}
	var issued struct{ Token string }
	if json.Unmarshal(body, &issued) == nil {
		watch.secret(issued.Token)
	}
}
