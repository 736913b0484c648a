package api_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"coldtrace/api"
)

// lockedBuffer is a bytes.Buffer that the server's goroutines may write.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestAccessLog: one line a request, with its fields in their order.
func TestAccessLog(t *testing.T) {
	var out lockedBuffer
	h := newHarness(t, api.Options{Logger: slog.New(slog.NewJSONHandler(&out, nil))})
	h.admin.do("POST", "/v1/orgs", orgBody(1)).want(201)
	var line string
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.Contains(l, `"msg":"http"`) && strings.Contains(l, `"route":"/v1/orgs"`) {
			line = l
		}
	}
	if line == "" {
		t.Fatalf("no access log line for POST /v1/orgs in %s", out.String())
	}
	dec := json.NewDecoder(strings.NewReader(line))
	var keys []string
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		if k, ok := tok.(string); ok && dec.More() {
			keys = append(keys, k)
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				break
			}
		}
	}
	want := []string{"time", "level", "msg", "method", "route", "path", "status", "bytes", "dur_ms", "key", "request_id"}
	if !slices.Equal(keys, want) {
		t.Errorf("access log fields %v, want %v (%s)", keys, want, line)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(line), &v); err != nil {
		t.Fatal(err)
	}
	if v["method"] != "POST" || v["path"] != "/v1/orgs" || v["status"] != float64(201) || v["level"] != "INFO" || v["request_id"] == "" {
		t.Errorf("access log line %s", line)
	}
}
