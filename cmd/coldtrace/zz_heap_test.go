package main_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	gojson "github.com/goccy/go-json"

	"coldtrace/ledger"
	"coldtrace/storage/badgerkv"
)

func TestZZReplay(t *testing.T) {
	dir := os.Getenv("ZZDIR")
	key, err := readBenchKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	store, err := badgerkv.Open(filepath.Join(dir, "db"), badgerkv.Options{ReadOnly: true, Memory: badgerkv.Memory{BlockCacheSize: 16 << 20}})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var scratch *badgerkv.Store
	if os.Getenv("ZZMEM") != "" {
		scratch, err = badgerkv.Open("", badgerkv.Options{InMemory: true})
	} else {
		scratch, err = badgerkv.Open(t.TempDir(), badgerkv.Options{Memory: badgerkv.Memory{MemTableSize: 64 << 20, NumMemtables: 2, BlockCacheSize: 16 << 20}})
	}
	if err != nil {
		t.Fatal(err)
	}
	defer scratch.Close()
	rep, err := ledger.Verify(context.Background(), store, scratch, key.Verifier, &ledger.VerifyOptions{Decode: gojson.Unmarshal})
	t.Log(rep, err, float64(rep.Size)/rep.StateTime.Seconds())
}
