package storagetest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"coldtrace/ledger"
	"coldtrace/ledger/fault"
)

// BlobsOpener opens a Blobs for a test. Each call may return the same store;
// the suite uses fresh object names.
type BlobsOpener struct {
	Open func(t *testing.T) ledger.Blobs
	// LargeSize is the size of the "large" objects, which must be more than
	// one part of a multipart upload where the store has parts; 17 MiB
	// when 0.
	LargeSize int
}

var nameSeq struct {
	sync.Mutex
	n int
}

// newName returns an object name no other test of this process uses.
func newName(prefix string) string {
	nameSeq.Lock()
	defer nameSeq.Unlock()
	nameSeq.n++
	return "suite/" + prefix + "/" + strconv.FormatInt(time.Now().UnixNano(), 36) + "-" + strconv.Itoa(nameSeq.n)
}

// randomBytes returns n reproducible pseudo-random bytes.
func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	for i := n - n%8; i < n; i++ {
		b[i] = byte(r.Uint32())
	}
	return b
}

// onlyReader hides every method but Read, so that a store cannot seek or
// learn the size from the reader.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// failingReader yields n bytes, then err.
type failingReader struct {
	r   io.Reader
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

// TestBlobs runs the ledger.Blobs conformance suite.
func TestBlobs(t *testing.T, o BlobsOpener) {
	large := o.LargeSize
	if large == 0 {
		large = 17 << 20
	}
	ctx := context.Background()

	t.Run("Health", func(t *testing.T) {
		if err := o.Open(t).Health(ctx); err != nil {
			t.Fatalf("Health of a working store: %v", err)
		}
	})
	t.Run("RoundTrip", func(t *testing.T) {
		b := o.Open(t)
		for _, c := range []struct {
			name  string
			size  int
			known bool
		}{
			{"one byte, size known", 1, true},
			{"small, size known", 1000, true},
			{"small, size unknown", 1000, false},
			{"large, size known", large, true},
			{"large, size unknown", large, false},
			{"empty, size known", 0, true},
		} {
			data := randomBytes(c.size, uint64(c.size))
			name := newName("roundtrip")
			size := int64(-1)
			if c.known {
				size = int64(c.size)
			}
			if err := b.Put(ctx, name, onlyReader{bytes.NewReader(data)}, size, "application/octet-stream"); err != nil {
				t.Fatalf("%s: Put: %v", c.name, err)
			}
			info, err := b.Stat(ctx, name)
			if err != nil || info.Size != int64(c.size) {
				t.Fatalf("%s: Stat = %+v, %v; want size %d", c.name, info, err, c.size)
			}
			got := mustGet(t, b, name)
			if !bytes.Equal(got, data) {
				t.Fatalf("%s: Get returned %d bytes that differ from the %d put", c.name, len(got), len(data))
			}
		}
	})
	t.Run("Missing", func(t *testing.T) {
		b := o.Open(t)
		name := newName("missing")
		if _, _, err := b.Get(ctx, name); fault.KindOf(err) != fault.NotFound {
			t.Errorf("Get of a missing object: %v, want NotFound", err)
		}
		if _, err := b.Stat(ctx, name); fault.KindOf(err) != fault.NotFound {
			t.Errorf("Stat of a missing object: %v, want NotFound", err)
		}
		if err := b.Delete(ctx, name); err != nil {
			t.Errorf("Delete of a missing object: %v, want nil", err)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		b := o.Open(t)
		name := newName("delete")
		if err := b.Put(ctx, name, bytes.NewReader([]byte("gone soon")), 9, "text/csv"); err != nil {
			t.Fatal(err)
		}
		if err := b.Delete(ctx, name); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if _, err := b.Stat(ctx, name); fault.KindOf(err) != fault.NotFound {
			t.Errorf("Stat after Delete: %v, want NotFound", err)
		}
		if _, _, err := b.Get(ctx, name); fault.KindOf(err) != fault.NotFound {
			t.Errorf("Get after Delete: %v, want NotFound", err)
		}
	})
	t.Run("FailedPutLeavesNothing", func(t *testing.T) {
		b := o.Open(t)
		boom := errors.New("the client went away")
		for _, c := range []struct {
			name      string
			sent      int
			announced int64
		}{
			{"small, size known", 500, 1000},
			{"small, size unknown", 500, -1},
			{"large, size known", large, int64(large) + 1000},
			{"large, size unknown", large, -1},
		} {
			name := newName("failed")
			r := &failingReader{r: bytes.NewReader(randomBytes(c.sent, 7)), err: boom}
			err := b.Put(ctx, name, r, c.announced, "application/octet-stream")
			if !errors.Is(err, boom) {
				t.Errorf("%s: Put with a failing reader returned %v, want the reader's error", c.name, err)
			}
			if _, err := b.Stat(ctx, name); fault.KindOf(err) != fault.NotFound {
				t.Errorf("%s: after a failed Put, Stat says %v, want NotFound", c.name, err)
			}
		}
	})
	t.Run("ShortReaderLeavesNothing", func(t *testing.T) {
		b := o.Open(t)
		name := newName("short")
		err := b.Put(ctx, name, onlyReader{bytes.NewReader(make([]byte, 50))}, 100, "text/csv")
		if err == nil {
			t.Fatal("Put of 50 bytes announced as 100 succeeded")
		}
		if _, err := b.Stat(ctx, name); fault.KindOf(err) != fault.NotFound {
			t.Errorf("after a short Put, Stat says %v, want NotFound", err)
		}
	})
	t.Run("CancelledPutLeavesNothing", func(t *testing.T) {
		b := o.Open(t)
		name := newName("cancelled")
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := b.Put(cctx, name, bytes.NewReader([]byte("x")), 1, "text/csv"); err == nil {
			t.Fatal("Put with a cancelled context succeeded")
		}
		if _, err := b.Stat(ctx, name); fault.KindOf(err) != fault.NotFound {
			t.Errorf("after a cancelled Put, Stat says %v, want NotFound", err)
		}
	})
	t.Run("Presign", func(t *testing.T) {
		b := o.Open(t)
		name := newName("presign")
		data := randomBytes(3000, 3)
		if err := b.Put(ctx, name, bytes.NewReader(data), int64(len(data)), "image/png"); err != nil {
			t.Fatal(err)
		}
		u, err := b.PresignGet(ctx, name, time.Minute)
		if errors.Is(err, ledger.ErrNotSupported) {
			t.Skip("this store does not presign")
		}
		if err != nil {
			t.Fatalf("PresignGet: %v", err)
		}
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || !bytes.Equal(got, data) {
			t.Fatalf("GET of the presigned URL: %s, %d bytes (equal: %v)", resp.Status, len(got), bytes.Equal(got, data))
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		b := o.Open(t)
		var wg sync.WaitGroup
		errs := make([]error, 8)
		names := make([]string, len(errs))
		for i := range errs {
			names[i] = newName("concurrent")
			wg.Add(1)
			go func() {
				defer wg.Done()
				data := randomBytes(100_000, uint64(i))
				errs[i] = b.Put(ctx, names[i], onlyReader{bytes.NewReader(data)}, -1, "text/csv")
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("Put %d: %v", i, err)
			}
			if got := mustGet(t, b, names[i]); !bytes.Equal(got, randomBytes(100_000, uint64(i))) {
				t.Errorf("object %d has the wrong bytes", i)
			}
		}
	})
}

func mustGet(t *testing.T, b ledger.Blobs, name string) []byte {
	t.Helper()
	rc, info, err := b.Get(context.Background(), name)
	if err != nil {
		t.Fatalf("Get %s: %v", name, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading %s: %v", name, err)
	}
	if info.Size != int64(len(data)) {
		t.Fatalf("Get %s said %d bytes and gave %d", name, info.Size, len(data))
	}
	return data
}
