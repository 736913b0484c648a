package main_test

import (
	"bufio"
	"bytes"
	"coldtrace/fixtures"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const adminKey = "e2e-admin-key-0123456789abcdef"

// binPath is the coldtrace binary the end-to-end tests run, built once,
// or COLDTRACE_E2E_BIN (another build to compare in benchmarks).
var binPath string

func TestMain(m *testing.M) {
	if binPath = os.Getenv("COLDTRACE_E2E_BIN"); binPath != "" {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "coldtrace-e2e-")
	if err != nil {
		panic(err)
	}
	binPath = filepath.Join(dir, "coldtrace")
	build := exec.Command("go", "build", "-o", binPath, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building coldtrace:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// A server is a running coldtrace process on a random loopback port.
type server struct {
	t      testing.TB
	cmd    *exec.Cmd
	URL    string
	Dir    string
	stderr *bytes.Buffer
	exited chan struct{}
}

var listenLine = regexp.MustCompile(`listening on (http://\S+)`)

// listenURLs reads a server's standard output to its end and sends the
// address of each "listening on" line it prints.
func listenURLs(stdout io.Reader) <-chan string {
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listenLine.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
	}()
	return urls
}

// startServer runs `coldtrace serve` on data dir dir and waits until it
// listens.
func startServer(t testing.TB, dir string, env ...string) *server {
	t.Helper()
	return startServerArgs(t, dir, nil, env...)
}

// startServerArgs is startServer with more serve flags.
func startServerArgs(t testing.TB, dir string, args []string, env ...string) *server {
	t.Helper()
	cmd := exec.Command(binPath, append([]string{"serve", "--addr", "127.0.0.1:0", "--data", dir, "--rate-limit=-1"}, args...)...)
	cmd.Env = append(os.Environ(), "COLDTRACE_BOOTSTRAP_ADMIN_KEY="+adminKey)
	cmd.Env = append(cmd.Env, env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, cmd: cmd, Dir: dir, stderr: &bytes.Buffer{}, exited: make(chan struct{})}
	cmd.Stderr = &syncWriter{w: s.stderr}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(s.exited) }()
	urls := listenURLs(stdout)
	select {
	case s.URL = <-urls:
	case <-s.exited:
		t.Fatalf("coldtrace serve exited: %s", s.stderr)
	case <-time.After(30 * time.Second):
		s.kill()
		t.Fatalf("coldtrace serve did not start: %s", s.stderr)
	}
	t.Cleanup(s.kill)
	return s
}

// kill sends SIGKILL: the process gets no chance to flush anything.
func (s *server) kill() {
	if s.cmd.ProcessState == nil {
		s.cmd.Process.Signal(syscall.SIGKILL)
	}
	<-s.exited
}

// stop asks for a graceful shutdown.
func (s *server) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		s.t.Errorf("server did not stop on SIGTERM")
		s.kill()
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

// do sends a request with key (none when empty), not following redirects.
func (s *server) do(method, path, key, ct string, body io.Reader) *http.Response {
	s.t.Helper()
	req, err := http.NewRequest(method, s.URL+path, body)
	if err != nil {
		s.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

// runCLI runs a coldtrace subcommand and returns its combined output and
// exit code.
func runCLI(t testing.TB, args ...string) (string, int) {
	t.Helper()
	return runCLIEnv(t, nil, args...)
}

// runCLIEnv is runCLI with more environment variables.
func runCLIEnv(t testing.TB, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

// call sends a JSON request with the admin key and decodes the answer.
func call(t testing.TB, c *http.Client, method, url, key string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %d %s: %v", method, url, resp.StatusCode, data, err)
		}
	}
	return resp.StatusCode
}

// testUSCC returns the n-th valid unified social credit code of a family
// (its region is 33<family>).
func testUSCC(family, n int) string { return fixtures.USCC(fmt.Sprintf("33%04d", family), n) }

func orgBody(family, n int) map[string]any {
	return map[string]any{"uscc": testUSCC(family, n), "name": fmt.Sprintf("测试冷链 %d-%d", family, n),
		"roles": []string{"importer"}, "region": "330106"}
}

// records fetches records start..end-1 as raw lines.
func records(t *testing.T, base string, start, end int64) [][]byte {
	t.Helper()
	var out [][]byte
	for start < end {
		stop := min(end, start+50_000)
		req, _ := http.NewRequest("GET", fmt.Sprintf("%s/v1/log/records?start=%d&end=%d", base, start, stop), nil)
		req.Header.Set("Authorization", "Bearer "+adminKey) // record bodies need a key
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("records: %d %s", resp.StatusCode, data)
		}
		lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
		if int64(len(lines)) != stop-start {
			t.Fatalf("records %d..%d: %d lines", start, stop, len(lines))
		}
		out = append(out, lines...)
		start = stop
	}
	return out
}

func treeSize(t *testing.T, base string) int64 {
	t.Helper()
	resp, err := http.Get(base + "/v1/log/checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var size int64
	if _, err := fmt.Sscanf(strings.Split(string(data), "\n")[1], "%d", &size); err != nil {
		t.Fatalf("checkpoint %q: %v", data, err)
	}
	return size
}
