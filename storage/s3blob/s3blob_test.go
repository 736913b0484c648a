package s3blob_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"coldtrace/ledger"
	"coldtrace/ledger/fault"
	"coldtrace/storage/s3blob"
	"coldtrace/storage/storagetest"
)

func open(t *testing.T, m *storagetest.MinIO, bucket string) *s3blob.Blobs {
	t.Helper()
	b, err := s3blob.New(s3blob.Options{Endpoint: m.Endpoint, AccessKey: m.AccessKey, SecretKey: m.SecretKey, Bucket: bucket})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBlobs runs the conformance suite against a real MinIO server.
func TestBlobs(t *testing.T) {
	m := storagetest.StartMinIO(t)
	b := open(t, m, "coldtrace-suite")
	storagetest.TestBlobs(t, storagetest.BlobsOpener{
		Open: func(t *testing.T) ledger.Blobs { return b },
	})
}

func TestBucketIsCreatedOnFirstUse(t *testing.T) {
	m := storagetest.StartMinIO(t)
	b := open(t, m, "made-by-coldtrace")
	ctx := context.Background()
	if err := b.Put(ctx, "att/first", bytes.NewReader([]byte("a,b\n")), 4, "text/csv"); err != nil {
		t.Fatalf("Put into a bucket that does not exist yet: %v", err)
	}
	ok, err := b.Client().BucketExists(ctx, "made-by-coldtrace")
	if err != nil || !ok {
		t.Fatalf("bucket exists = %v, %v", ok, err)
	}
}

func TestBadCredentialsAreUnavailable(t *testing.T) {
	m := storagetest.StartMinIO(t)
	b, err := s3blob.New(s3blob.Options{Endpoint: m.Endpoint, AccessKey: "nobody", SecretKey: "wrong-secret", Bucket: "x-bucket"})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Health(context.Background()); fault.KindOf(err) != fault.Unavailable {
		t.Fatalf("Health with wrong credentials: %v, want Unavailable", err)
	}
}

func TestConfigurationIsChecked(t *testing.T) {
	for _, o := range []s3blob.Options{
		{AccessKey: "a", SecretKey: "b", Bucket: "c"},
		{Endpoint: "127.0.0.1:1", AccessKey: "a", SecretKey: "b"},
		{Endpoint: "127.0.0.1:1", Bucket: "c"},
	} {
		if _, err := s3blob.New(o); fault.KindOf(err) != fault.Invalid {
			t.Errorf("New(%+v) = %v, want Invalid", o, err)
		}
	}
}

// TestOutage stops the server and starts it again: while it is down every
// call is Unavailable (never NotFound, which would wrongly say an object is
// gone), and afterwards the same store works again by itself.
func TestOutage(t *testing.T) {
	m := storagetest.StartMinIO(t)
	b := open(t, m, "outage")
	ctx := context.Background()
	data := []byte("%PDF-1.4 kept across an outage")
	if err := b.Put(ctx, "att/kept", bytes.NewReader(data), int64(len(data)), "application/pdf"); err != nil {
		t.Fatal(err)
	}
	m.Stop(t)
	if err := b.Health(ctx); fault.KindOf(err) != fault.Unavailable {
		t.Errorf("Health while down: %v, want Unavailable", err)
	}
	if err := b.Put(ctx, "att/new", bytes.NewReader(data), int64(len(data)), "application/pdf"); fault.KindOf(err) != fault.Unavailable {
		t.Errorf("Put while down: %v, want Unavailable", err)
	}
	if err := b.Put(ctx, "att/new", bytes.NewReader(data), -1, "application/pdf"); fault.KindOf(err) != fault.Unavailable {
		t.Errorf("Put of unknown size while down: %v, want Unavailable", err)
	}
	if _, _, err := b.Get(ctx, "att/kept"); fault.KindOf(err) != fault.Unavailable {
		t.Errorf("Get while down: %v, want Unavailable", err)
	}
	if _, err := b.Stat(ctx, "att/kept"); fault.KindOf(err) != fault.Unavailable {
		t.Errorf("Stat while down: %v, want Unavailable", err)
	}
	m.Start(t)
	if err := b.Health(ctx); err != nil {
		t.Fatalf("Health after the server came back: %v", err)
	}
	rc, _, err := b.Get(ctx, "att/kept")
	if err != nil {
		t.Fatalf("Get after the server came back: %v", err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, data) {
		t.Fatal("the object changed across the outage")
	}
	if _, err := b.Stat(ctx, "att/new"); fault.KindOf(err) != fault.NotFound {
		t.Errorf("a Put that failed during the outage left an object: %v", err)
	}
}
