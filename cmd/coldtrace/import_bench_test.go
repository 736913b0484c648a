package main_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// importBenchLines is how many `tested` lines each bulk path records, in
// requests of importBenchBatch lines for the REST batch.
const (
	importBenchLines = 30_000
	importBenchBatch = 10_000
)

// testedLines returns n NDJSON lines of `tested` events spread over lots.
func testedLines(lots []string, first, n int) []byte {
	var b bytes.Buffer
	for i := first; i < first+n; i++ {
		fmt.Fprintf(&b, `{"kind":"tested","lot":%q,"samples":%d,"scope":["goods","packaging"],"result":"negative"}`+"\n", lots[i%len(lots)], 1+i%50)
	}
	return b.Bytes()
}

// postNDJSON sends a batch and checks that every line was recorded.
func postNDJSON(tb testing.TB, base, key string, body []byte) [][]byte {
	req, _ := http.NewRequest("POST", base+"/v1/events/batch", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || bytes.Contains(data, []byte(`"status":`)) {
		tb.Fatalf("batch: %d %.500s", resp.StatusCode, data)
	}
	return bytes.Split(bytes.TrimSpace(data), []byte("\n"))
}

// BenchmarkImport measures the two bulk paths on the demo ledger with 64
// lots of frozen fish declared on top: POST /v1/events/batch of
// importBenchLines lab `tested` lines in requests of importBenchBatch to a
// running server, then `coldtrace import` of as many such lines from a
// file into the same data directory with the server stopped (its time
// includes opening the ledger and reading the file). Both through
// SubmitBatch and the same group commits; the ratio is import to REST.
func BenchmarkImport(b *testing.B) {
	dir := b.TempDir()
	if out, code := runCLIEnv(b, []string{"COLDTRACE_ADMIN_KEY=" + adminKey}, "seed", "--data", dir); code != 0 {
		b.Fatalf("seed: exit %d\n%s", code, out)
	}
	keys := map[string]string{}
	data, err := os.ReadFile(filepath.Join(dir, "demo-keys.txt"))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && strings.HasPrefix(f[2], "ctk_") {
			keys[f[0]] = f[2]
		}
	}
	s := startServer(b, dir)
	decl, _ := importFile(b, b.TempDir(), 64, 0)
	declared, err := os.ReadFile(decl)
	if err != nil {
		b.Fatal(err)
	}
	var lots []string
	for _, r := range postNDJSON(b, s.URL, keys["sz-importer"], declared) {
		var rc struct{ Lot string }
		if err := json.Unmarshal(r, &rc); err != nil || rc.Lot == "" {
			b.Fatalf("declaration receipt %s: %v", r, err)
		}
		lots = append(lots, rc.Lot)
	}
	lab := keys["sz-lab"]

	b.ResetTimer()
	start := time.Now()
	for i := 0; i < importBenchLines; i += importBenchBatch {
		postNDJSON(b, s.URL, lab, testedLines(lots, i, importBenchBatch))
	}
	rest := time.Since(start)
	s.stop()

	file := filepath.Join(b.TempDir(), "tested.ndjson")
	if err := os.WriteFile(file, testedLines(lots, importBenchLines, importBenchLines), 0o600); err != nil {
		b.Fatal(err)
	}
	start = time.Now()
	out, code := runCLI(b, "import", "--data", dir, "--key", lab, file)
	imp := time.Since(start)
	b.StopTimer()
	if code != 0 || !strings.Contains(out, fmt.Sprintf("%d recorded, 0 replayed", importBenchLines)) {
		b.Fatalf("import: exit %d\n%s", code, out)
	}
	restRate, impRate := importBenchLines/rest.Seconds(), importBenchLines/imp.Seconds()
	b.ReportMetric(restRate, "batch-events/s")
	b.ReportMetric(impRate, "import-events/s")
	b.ReportMetric(impRate/restRate, "ratio-import-to-batch")
	b.Logf("%d tested events: REST batch (requests of %d) %.0f events/s, coldtrace import %.0f events/s (ratio %.2f)",
		importBenchLines, importBenchBatch, restRate, impRate, impRate/restRate)
}
