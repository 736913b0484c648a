package storagetest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// A MinIO is a real MinIO server that a test started on a free loopback
// port, with its data in a temporary folder. It is stopped when the test
// ends. Stop and Start take it down and up again on the same address and
// data, to test what happens while the object store is away.
type MinIO struct {
	Endpoint  string // host:port
	AccessKey string
	SecretKey string

	bin  string
	dir  string
	log  *syncBuffer
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// MinIOBinary returns the path of the minio server binary: $COLDTRACE_MINIO_BIN,
// else bin/minio at the module root (where the Makefile installs it), else
// minio on $PATH. When there is none, the test fails if $CI is "true" (CI
// must never skip it) and is skipped otherwise, saying how to get one.
func MinIOBinary(t testing.TB) string {
	t.Helper()
	var tried []string
	if p := os.Getenv("COLDTRACE_MINIO_BIN"); p != "" {
		if isExec(p) {
			return p
		}
		tried = append(tried, p)
	}
	if root := moduleRoot(); root != "" {
		p := filepath.Join(root, "bin", "minio")
		if isExec(p) {
			return p
		}
		tried = append(tried, p)
	}
	if p, err := exec.LookPath("minio"); err == nil {
		return p
	}
	tried = append(tried, "minio on $PATH")
	msg := fmt.Sprintf("no MinIO server binary (tried %v): run `make test`, which installs it into ./bin, or set COLDTRACE_MINIO_BIN", tried)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

func moduleRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// StartMinIO starts a MinIO server for t (see MinIO).
func StartMinIO(t testing.TB) *MinIO {
	t.Helper()
	bin := MinIOBinary(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	m := &MinIO{
		Endpoint: addr, AccessKey: "ct" + randHex(8), SecretKey: randHex(20),
		bin: bin, dir: t.TempDir(), log: &syncBuffer{},
	}
	t.Cleanup(func() { m.stop() })
	if err := m.start(); err != nil {
		t.Fatal(err)
	}
	return m
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Start starts the server again after Stop, on the same address and data,
// and waits until it serves.
func (m *MinIO) Start(t testing.TB) {
	t.Helper()
	if err := m.start(); err != nil {
		t.Fatal(err)
	}
}

// Stop stops the server and waits until it has exited.
func (m *MinIO) Stop(t testing.TB) {
	t.Helper()
	m.stop()
}

func (m *MinIO) start() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd != nil {
		return fmt.Errorf("minio is already running")
	}
	cmd := exec.Command(m.bin, "server", "--quiet", "--address", m.Endpoint, filepath.Join(m.dir, "data"))
	cmd.Env = append(os.Environ(),
		"MINIO_ROOT_USER="+m.AccessKey, "MINIO_ROOT_PASSWORD="+m.SecretKey,
		"MINIO_BROWSER=off", "MINIO_UPDATE=off", "MINIO_CONFIG_DIR="+filepath.Join(m.dir, "config"),
		"HOME="+m.dir)
	cmd.Stdout, cmd.Stderr = m.log, m.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start minio: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	m.cmd, m.done = cmd, done
	// Wait until it answers its readiness probe and then the S3 API itself
	// (a start-up wait, not a timing assertion: a slow machine only makes
	// it longer). The probe can pass while the object layer is still
	// initialising, when S3 calls answer 503 "Server not initialized yet";
	// an anonymous ListBuckets answers 403 once it is up.
	deadline := time.Now().Add(2 * time.Minute)
	if err := m.waitFor("/minio/health/ready", func(code int) bool { return code == http.StatusOK }, done, deadline); err != nil {
		return err
	}
	return m.waitFor("/", func(code int) bool { return code != http.StatusServiceUnavailable }, done, deadline)
}

// waitFor polls path until its status is up, minio exits, or the deadline
// passes.
func (m *MinIO) waitFor(path string, up func(code int) bool, done <-chan struct{}, deadline time.Time) error {
	url := "http://" + m.Endpoint + path
	for {
		select {
		case <-done:
			m.cmd = nil
			return fmt.Errorf("minio exited at start:\n%s", m.log.String())
		default:
		}
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if up(resp.StatusCode) {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("minio did not become ready on %s:\n%s", m.Endpoint, m.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (m *MinIO) stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd == nil {
		return
	}
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(20 * time.Second):
		_ = m.cmd.Process.Kill()
		<-m.done
	}
	m.cmd = nil
}

// PID returns the server's process id, 0 when it is stopped.
func (m *MinIO) PID() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd == nil {
		return 0
	}
	return m.cmd.Process.Pid
}

// Log returns what the server printed.
func (m *MinIO) Log() string { return m.log.String() }

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b.Len() > 1<<20 {
		return len(p), nil
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
