package fsblob_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"coldtrace/ledger"
	"coldtrace/ledger/fault"
	"coldtrace/storage/fsblob"
	"coldtrace/storage/storagetest"
)

func TestBlobs(t *testing.T) {
	storagetest.TestBlobs(t, storagetest.BlobsOpener{
		Open: func(t *testing.T) ledger.Blobs { return fsblob.New(filepath.Join(t.TempDir(), "blobs")) },
	})
}

func TestNamesStayInsideTheRoot(t *testing.T) {
	root := t.TempDir()
	b := fsblob.New(filepath.Join(root, "blobs"))
	for _, name := range []string{"../x", "a/../../x", "/etc/passwd", "", "a//b", ".tmp/x", "a/"} {
		err := b.Put(context.Background(), name, bytes.NewReader([]byte("x")), 1, "text/csv")
		if fault.KindOf(err) != fault.Invalid {
			t.Errorf("Put(%q) = %v, want Invalid", name, err)
		}
	}
	entries, _ := os.ReadDir(root)
	if len(entries) > 1 {
		t.Errorf("bad names wrote outside the blob folder: %v", entries)
	}
}

func TestFailedPutLeavesNoTemporaryFile(t *testing.T) {
	root := filepath.Join(t.TempDir(), "blobs")
	b := fsblob.New(root)
	err := b.Put(context.Background(), "att/x", bytes.NewReader([]byte("short")), 10, "text/csv")
	if err == nil {
		t.Fatal("a short Put succeeded")
	}
	tmp, _ := os.ReadDir(filepath.Join(root, ".tmp"))
	if len(tmp) != 0 {
		t.Errorf("a failed Put left %d temporary files", len(tmp))
	}
}
