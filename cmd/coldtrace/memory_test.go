package main_test

import (
	"bufio"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// TestMemoryBudget starts the server with COLDTRACE_MEMORY=512MiB and
// reads on /metrics the budget's parts, badger's settings as the open
// database has them and the Go memory limit; a budget under the minimum is
// refused, by flag and by environment, with an error naming the flag.
func TestMemoryBudget(t *testing.T) {
	for _, c := range []struct {
		env  []string
		args []string
	}{{args: []string{"--memory", "100MiB"}}, {env: []string{"COLDTRACE_MEMORY=255MiB"}}} {
		out, code := runCLIEnv(t, c.env, append([]string{"serve", "--addr", "127.0.0.1:0", "--data", t.TempDir()}, c.args...)...)
		if code == 0 || !strings.Contains(out, "--memory") || !strings.Contains(out, "below the minimum of 256MiB") {
			t.Errorf("serve %v with %v: exit %d, %s", c.args, c.env, code, out)
		}
	}

	s := startServer(t, t.TempDir(), "COLDTRACE_MEMORY=512MiB", "GOMEMLIMIT=")
	m := scrapeMetrics(http.DefaultClient, s.URL)
	const mib = 1 << 20
	for name, want := range map[string]float64{
		`coldtrace_memory_budget_bytes{part="memtables"}`:       96 * mib,
		`coldtrace_memory_budget_bytes{part="block_cache"}`:     64 * mib,
		`coldtrace_memory_budget_bytes{part="lot_cache"}`:       24 * mib,
		`coldtrace_memory_budget_bytes{part="node_cache"}`:      40 * mib,
		`coldtrace_memory_budget_bytes{part="hash_cache"}`:      4 * mib, // of node_cache
		`coldtrace_memory_budget_bytes{part="state_cache"}`:     16 * mib,
		`coldtrace_memory_budget_bytes{part="go_heap"}`:         80 * mib,
		`coldtrace_badger_setting{setting="memtable_bytes"}`:    32 * mib,
		`coldtrace_badger_setting{setting="memtables"}`:         3,
		`coldtrace_badger_setting{setting="level0_tables"}`:     3,
		`coldtrace_badger_setting{setting="block_cache_bytes"}`: 64 * mib,
		`coldtrace_go_memory_limit_bytes`:                       320 * mib,
		`coldtrace_memory_mapped_limit_bytes`:                   192 * mib, // wal + level0
	} {
		if got, ok := m[name]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", name, got, ok, want)
		}
	}
	for _, name := range []string{`coldtrace_process_rss_bytes{kind="anon"}`, `coldtrace_go_memory_bytes`} {
		if m[name] <= 0 {
			t.Errorf("%s = %v, want the process's", name, m[name])
		}
	}
	for _, name := range []string{`coldtrace_memory_mapped_releases_total`, `coldtrace_memory_mapped_released_bytes_total`, `coldtrace_memory_used_bytes{part="hash_cache"}`} {
		if _, ok := m[name]; !ok {
			t.Errorf("%s missing", name)
		}
	}
}

// scrapeMetrics reads the server's /metrics as a map from each sample's
// name and labels to its value (empty when the server does not answer).
func scrapeMetrics(c *http.Client, base string) map[string]float64 {
	m := map[string]float64{}
	resp, err := c.Get(base + "/metrics")
	if err != nil {
		return m
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && !strings.HasPrefix(f[0], "#") {
			m[f[0]], _ = strconv.ParseFloat(f[1], 64)
		}
	}
	io.Copy(io.Discard, resp.Body)
	return m
}
