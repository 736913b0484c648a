package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"coldtrace/ledger/vlog"
)

// The signing key file of a data directory (log.key): the note signing key
// text, created on first start with mode 0600. The ledger itself never
// touches files; it is given the key.

// loadOrCreateKey reads the note signing key at path, creating it with mode
// 0600 (named name, which becomes the log's origin) when the file does not
// exist.
func loadOrCreateKey(path, name string) (*vlog.Key, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		skey, _, gerr := vlog.GenerateKey(name)
		if gerr != nil {
			return nil, gerr
		}
		if err := writeNewFile(path, []byte(skey+"\n"), 0o600); err != nil {
			return nil, err
		}
		data = []byte(skey)
	} else if err != nil {
		return nil, err
	}
	return vlog.ParseKey(string(bytes.TrimSpace(data)))
}

// readKey reads an existing signing key; it never creates one.
func readKey(path string) (*vlog.Key, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no signing key at %s: is this a coldtrace data directory?", path)
		}
		return nil, err
	}
	return vlog.ParseKey(string(bytes.TrimSpace(data)))
}

// writeNewFile creates path with data and mode perm, synced; it fails if the
// file exists.
func writeNewFile(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
