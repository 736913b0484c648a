package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"coldtrace/ledger"
	"coldtrace/storage/fsblob"
	"coldtrace/storage/s3blob"
)

// blobFlags choose the blob store that keeps attachment bytes: an S3 bucket
// (MinIO or any S3) when an endpoint is given, else the folder blobs/ in the
// data directory. serve and verify take the same flags, so that verify
// checks the store the server wrote.
type blobFlags struct {
	S3Endpoint  string `name:"s3-endpoint" env:"COLDTRACE_S3_ENDPOINT" help:"S3 endpoint (host:port) for attachments; without it they are kept in <data>/blobs." group:"Blob store"`
	S3AccessKey string `name:"s3-access-key" env:"COLDTRACE_S3_ACCESS_KEY" help:"S3 access key." group:"Blob store"`
	S3SecretKey string `name:"s3-secret-key" env:"COLDTRACE_S3_SECRET_KEY" help:"S3 secret key (prefer the environment variable to the flag)." group:"Blob store"`
	S3Bucket    string `name:"s3-bucket" env:"COLDTRACE_S3_BUCKET" default:"coldtrace" help:"S3 bucket; created if missing." group:"Blob store"`
	S3Secure    bool   `name:"s3-secure" env:"COLDTRACE_S3_SECURE" negatable:"" help:"Talk HTTPS to the S3 endpoint." group:"Blob store"`
}

// open returns the configured blob store.
func (f blobFlags) open(dataDir string) (ledger.Blobs, string, error) {
	if f.S3Endpoint == "" {
		b := fsblob.New(filepath.Join(dataDir, "blobs"))
		return b, b.String(), nil
	}
	b, err := s3blob.New(s3blob.Options{
		Endpoint: f.S3Endpoint, AccessKey: f.S3AccessKey, SecretKey: f.S3SecretKey,
		Bucket: f.S3Bucket, Secure: f.S3Secure,
	})
	if err != nil {
		return nil, "", fmt.Errorf("blob store: %w", err)
	}
	return b, b.String(), nil
}

// verifyAttachments re-hashes every attachment in the blob store and lists
// every problem before failing.
func (c *verifyCmd) verifyAttachments(ctx context.Context, store ledger.Store) error {
	blobs, desc, err := c.blobFlags.open(c.Data)
	if err != nil {
		return err
	}
	start := time.Now()
	rep, err := ledger.VerifyAttachments(ctx, store, blobs, newProgress(os.Stderr))
	for _, p := range rep.Problems {
		fmt.Fprintf(os.Stderr, "attachment problem: %s\n", p)
	}
	if err != nil {
		return fmt.Errorf("FAILED: attachments in %s: %w", desc, err)
	}
	fmt.Printf("ok: %d attachments (%d referenced by records, %d bytes) re-hashed in %s from %s\n",
		rep.Checked, rep.Referenced, rep.Bytes, time.Since(start).Round(time.Millisecond), desc)
	return nil
}
