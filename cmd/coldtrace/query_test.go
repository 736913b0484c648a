package main_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTraceAndReportCommands runs `coldtrace trace` and `coldtrace report`
// offline on a seeded data directory and against a running server.
func TestTraceAndReportCommands(t *testing.T) {
	dir := t.TempDir()
	if out, code := runCLI(t, "seed", "--data", dir, "--lots", "30", "--admin-key", adminKey); code != 0 {
		t.Fatalf("seed: %d %s", code, out)
	}
	out, code := runCLI(t, "report", "--data", dir, "--format", "json")
	if code != 0 {
		t.Fatalf("report: %d %s", code, out)
	}
	var rep struct {
		Totals map[string]int64
		Lots   []struct {
			TraceCode string `json:"trace_code"`
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.Totals["batches"] != 30 || len(rep.Lots) == 0 {
		t.Fatalf("report JSON: %v %+v", err, rep.Totals)
	}
	code1 := rep.Lots[0].TraceCode
	out, code = runCLI(t, "trace", "--data", dir, strings.ToLower(code1))
	if code != 0 || !strings.Contains(out, "* "+code1) || !strings.Contains(out, "stay ") {
		t.Fatalf("trace offline: %d %s", code, out)
	}
	csvPath := filepath.Join(dir, "r.csv")
	if out, code := runCLI(t, "report", "--data", dir, "--format", "csv", "-o", csvPath); code != 0 {
		t.Fatalf("report csv: %d %s", code, out)
	}
	offline, _ := os.ReadFile(csvPath)
	if !bytes.HasPrefix(offline, []byte("\uFEFF追溯码 trace_code,")) || bytes.Count(offline, []byte("\n")) != 31 {
		t.Fatalf("offline CSV: %.200s", offline)
	}
	if out, code := runCLI(t, "report", "--data", dir, "--format", "pdf"); code == 0 || !strings.Contains(out, "--out") {
		t.Fatalf("a PDF to a terminal should be refused: %d %s", code, out)
	}

	s := startServer(t, dir)
	out, code = runCLI(t, "trace", "--server", s.URL, "--key", adminKey, "--direction", "down", "--json", code1)
	var tr struct {
		TraceCode string `json:"trace_code"`
		Lots      []any
	}
	if code != 0 || json.Unmarshal([]byte(out), &tr) != nil || tr.TraceCode != code1 || len(tr.Lots) == 0 {
		t.Fatalf("trace on the server: %d %s", code, out)
	}
	xlsx := filepath.Join(dir, "r.xlsx")
	if out, code := runCLI(t, "report", "--server", s.URL, "--key", adminKey, "--format", "xlsx", "-o", xlsx); code != 0 {
		t.Fatalf("report xlsx on the server: %d %s", code, out)
	}
	if data, _ := os.ReadFile(xlsx); !bytes.HasPrefix(data, []byte("PK")) {
		t.Fatalf("not an XLSX: %.20q", data)
	}
	if out, code := runCLI(t, "report", "--server", s.URL, "--key", "wrong-key-0123456789", "--format", "csv"); code == 0 || !strings.Contains(out, "401") {
		t.Fatalf("a wrong key should fail: %d %s", code, out)
	}
}
