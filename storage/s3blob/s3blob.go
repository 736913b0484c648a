// Package s3blob implements ledger.Blobs on an S3 bucket (MinIO or any S3
// service) with github.com/minio/minio-go/v7.
//
// The store never needs the server at construction: the bucket is checked,
// and created if missing, on first use and again after the server has been
// unreachable, so a coldtrace server that starts while the object store is
// down becomes ready by itself when it comes back. minio-go's errors never
// leave this package: a missing object is a ledger NotFound, anything that
// keeps the store from serving is a ledger Unavailable.
package s3blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"coldtrace/ledger"
	"coldtrace/ledger/fault"
)

var _ ledger.Blobs = (*Blobs)(nil)

// Options configure New.
type Options struct {
	Endpoint  string // host:port
	AccessKey string
	SecretKey string
	Bucket    string
	Secure    bool   // HTTPS
	Region    string // "us-east-1" when empty
	// PartSize is the size of the parts of a multipart upload and so the
	// memory one upload of unknown size holds; 8 MiB when 0 (S3's minimum
	// is 5 MiB; 10,000 parts of 8 MiB allow 80 GiB).
	PartSize uint64
	// Transport replaces minio-go's HTTP transport (tests).
	Transport http.RoundTripper
}

// Blobs is a ledger.Blobs in an S3 bucket.
type Blobs struct {
	c      *minio.Client
	bucket string
	desc   string
	part   uint64
	ready  atomic.Bool // the bucket was seen (or made) since the last outage
}

// healthTimeout bounds a Health check.
const healthTimeout = 3 * time.Second

// New returns the blob store in opts.Bucket at opts.Endpoint. It does not
// contact the server.
func New(opts Options) (*Blobs, error) {
	if opts.Endpoint == "" || opts.Bucket == "" {
		return nil, fault.Errorf(fault.Invalid, "s3blob: the endpoint and the bucket are required")
	}
	if opts.AccessKey == "" || opts.SecretKey == "" {
		return nil, fault.Errorf(fault.Invalid, "s3blob: the access key and the secret key are required")
	}
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.PartSize == 0 {
		opts.PartSize = 8 << 20
	}
	c, err := minio.New(opts.Endpoint, &minio.Options{
		Creds:     credentials.NewStaticV4(opts.AccessKey, opts.SecretKey, ""),
		Secure:    opts.Secure,
		Region:    opts.Region,
		Transport: opts.Transport,
		// A down server should be reported within a second or so, not
		// after minio-go's default ten retries.
		MaxRetries: 3,
	})
	if err != nil {
		return nil, fault.Wrap(fault.Invalid, "s3blob: bad configuration", err)
	}
	scheme := "http"
	if opts.Secure {
		scheme = "https"
	}
	return &Blobs{c: c, bucket: opts.Bucket, part: opts.PartSize,
		desc: fmt.Sprintf("S3 bucket %s at %s://%s", opts.Bucket, scheme, opts.Endpoint)}, nil
}

// String names the store for logs and readiness reports.
func (b *Blobs) String() string { return b.desc }

// Client returns the minio-go client (tools and tests that reach below the
// ledger: a tamper test, a benchmark baseline).
func (b *Blobs) Client() *minio.Client { return b.c }

// Bucket returns the bucket name.
func (b *Blobs) Bucket() string { return b.bucket }

// ensureBucket checks that the bucket exists, creating it if not, once per
// outage.
func (b *Blobs) ensureBucket(ctx context.Context) error {
	if b.ready.Load() {
		return nil
	}
	ok, err := b.c.BucketExists(ctx, b.bucket)
	if err != nil {
		return b.translate(err, "")
	}
	if !ok {
		if err := b.c.MakeBucket(ctx, b.bucket, minio.MakeBucketOptions{}); err != nil {
			if code := minio.ToErrorResponse(err).Code; code != "BucketAlreadyOwnedByYou" && code != "BucketAlreadyExists" {
				return b.translate(err, "")
			}
		}
	}
	b.ready.Store(true)
	return nil
}

// maxSinglePut is the largest object S3 takes in one PUT.
const maxSinglePut = 5 << 30

// Put implements ledger.Blobs.
//
// An object of known size (up to 5 GiB) goes up in one streaming PUT: the
// bytes flow from r to the server as they are read, with no buffer of ours
// in between, so a slow reader and the server work at the same time. An
// object of unknown size goes up as a multipart upload that holds one part
// (PartSize) in memory. S3 never shows a PUT that did not complete, and a
// failed multipart upload is aborted, so nothing appears under name.
func (b *Blobs) Put(ctx context.Context, name string, r io.Reader, size int64, contentType string) error {
	if err := b.ensureBucket(ctx); err != nil {
		return err
	}
	src := &trackedReader{r: r}
	info, err := b.c.PutObject(ctx, b.bucket, name, src, size, b.PutOptions(size, contentType))
	if src.err != nil {
		return src.err // the reader's own failure is the cause
	}
	if err != nil {
		return b.translate(err, name)
	}
	if size >= 0 && info.Size != size {
		_ = b.c.RemoveObject(context.WithoutCancel(ctx), b.bucket, name, minio.RemoveObjectOptions{})
		return fault.Errorf(fault.Invalid, "the object has %d bytes, %d were announced", info.Size, size)
	}
	return nil
}

// PutOptions returns the minio-go options with which Put stores an object
// of size bytes (-1: unknown): one streaming PUT when the size is known (up
// to 5 GiB), else a multipart upload of PartSize parts.
//
// The payload is not signed (DisableContentSha256; "UNSIGNED-PAYLOAD"), as
// minio-go always does over HTTPS. Over plain HTTP minio-go would otherwise
// SHA-256 every chunk for a streaming signature and the server would hash it
// again: two more passes over the bytes, on top of the SHA-256 the ledger
// computes on the way. That hash is what the object is known by:
// downloads re-hash and `coldtrace verify` re-hashes every object, so bytes
// changed in transit or at rest are found either way. Use HTTPS
// (COLDTRACE_S3_SECURE) where the path to the object store is not trusted.
func (b *Blobs) PutOptions(size int64, contentType string) minio.PutObjectOptions {
	opts := minio.PutObjectOptions{ContentType: contentType, DisableContentSha256: true}
	switch {
	case size >= 0 && size <= maxSinglePut:
		opts.DisableMultipart = true
	case size < 0:
		// Two part buffers: one fills from the reader while the other
		// uploads.
		opts.PartSize, opts.ConcurrentStreamParts, opts.NumThreads = b.part, true, 2
	}
	return opts
}

// Get implements ledger.Blobs.
func (b *Blobs) Get(ctx context.Context, name string) (io.ReadCloser, ledger.BlobInfo, error) {
	if err := b.ensureBucket(ctx); err != nil {
		return nil, ledger.BlobInfo{}, err
	}
	obj, err := b.c.GetObject(ctx, b.bucket, name, minio.GetObjectOptions{})
	if err != nil {
		return nil, ledger.BlobInfo{}, b.translate(err, name)
	}
	// The object is fetched lazily; Stat makes the request now, so that a
	// missing object or a down server is known before any byte is sent.
	st, err := obj.Stat()
	if err != nil {
		obj.Close()
		return nil, ledger.BlobInfo{}, b.translate(err, name)
	}
	return &objectReader{obj: obj, b: b, name: name}, ledger.BlobInfo{Size: st.Size}, nil
}

// Stat implements ledger.Blobs.
func (b *Blobs) Stat(ctx context.Context, name string) (ledger.BlobInfo, error) {
	if err := b.ensureBucket(ctx); err != nil {
		return ledger.BlobInfo{}, err
	}
	st, err := b.c.StatObject(ctx, b.bucket, name, minio.StatObjectOptions{})
	if err != nil {
		return ledger.BlobInfo{}, b.translate(err, name)
	}
	return ledger.BlobInfo{Size: st.Size}, nil
}

// Delete implements ledger.Blobs.
func (b *Blobs) Delete(ctx context.Context, name string) error {
	if err := b.ensureBucket(ctx); err != nil {
		return err
	}
	err := b.c.RemoveObject(ctx, b.bucket, name, minio.RemoveObjectOptions{})
	if err != nil && fault.KindOf(b.translate(err, name)) != fault.NotFound {
		return b.translate(err, name)
	}
	return nil
}

// PresignGet implements ledger.Blobs with a presigned GET URL. Signing is
// local; the object is not looked at.
func (b *Blobs) PresignGet(ctx context.Context, name string, ttl time.Duration) (string, error) {
	u, err := b.c.PresignedGetObject(ctx, b.bucket, name, ttl, nil)
	if err != nil {
		return "", b.translate(err, name)
	}
	return u.String(), nil
}

// Health implements ledger.Blobs: the bucket can be reached (and is
// created if missing) within a few seconds.
func (b *Blobs) Health(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	b.ready.Store(false) // always ask the server
	return b.ensureBucket(ctx)
}

// translate maps minio-go's errors to ledger errors. Anything but a missing
// object means the store cannot serve now: the next call checks the bucket
// again.
func (b *Blobs) translate(err error, name string) error {
	var le *fault.Error
	if err == nil || errors.As(err, &le) {
		return err
	}
	resp := minio.ToErrorResponse(err)
	switch resp.Code {
	case "NoSuchKey":
		return fault.Wrap(fault.NotFound, "no object "+name+" in "+b.desc, err)
	case "NoSuchBucket":
		b.ready.Store(false)
		if name != "" {
			return fault.Wrap(fault.NotFound, "no object "+name+" in "+b.desc+" (the bucket is missing)", err)
		}
	case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch":
		return fault.Wrap(fault.Unavailable, "the object store ("+b.desc+") refuses coldtrace's credentials", err)
	}
	if errors.Is(err, context.Canceled) {
		return fault.Wrap(fault.Unavailable, "the request was cancelled", err)
	}
	b.ready.Store(false)
	return fault.Wrap(fault.Unavailable, "the object store ("+b.desc+") is unavailable", err)
}

// A trackedReader keeps the first error of the reader given to Put, so that
// it is returned as the cause however minio-go wraps it.
type trackedReader struct {
	r   io.Reader
	err error
}

func (t *trackedReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF && t.err == nil {
		t.err = err
	}
	return n, err
}

// An objectReader translates the errors of a download in progress.
type objectReader struct {
	obj  *minio.Object
	b    *Blobs
	name string
}

func (o *objectReader) Read(p []byte) (int, error) {
	n, err := o.obj.Read(p)
	if err != nil && err != io.EOF {
		err = o.b.translate(err, o.name)
	}
	return n, err
}

func (o *objectReader) Close() error { return o.obj.Close() }
