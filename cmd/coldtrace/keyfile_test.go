package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.key")
	k1, err := loadOrCreateKey(path, "example.com/log")
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	k2, err := loadOrCreateKey(path, "ignored.example/other")
	if err != nil {
		t.Fatal(err)
	}
	if k1.VerifierKey() != k2.VerifierKey() || k2.Signer.Name() != "example.com/log" {
		t.Fatalf("reloading the key changed it: %s vs %s", k1.VerifierKey(), k2.VerifierKey())
	}
	k3, err := readKey(path)
	if err != nil || k3.VerifierKey() != k1.VerifierKey() {
		t.Fatalf("readKey = %v, %v", k3, err)
	}
}
