// Package fsblob implements ledger.Blobs on a local folder: the embedded
// default blob store of coldtrace (<data>/blobs).
//
// An object is a file at <root>/<name>. Put writes a temporary file in
// <root>/.tmp, syncs it and renames it into place, so an object is either
// whole or absent, never half-written.
package fsblob

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"coldtrace/ledger"
	"coldtrace/ledger/fault"
)

var _ ledger.Blobs = (*Blobs)(nil)

// Blobs is a ledger.Blobs in a folder.
type Blobs struct {
	root string
}

// New returns the blob store in folder root. Nothing is created until the
// first Put (or Health check), so that an offline check never writes.
func New(root string) *Blobs {
	return &Blobs{root: filepath.Clean(root)}
}

// String names the store for logs and readiness reports.
func (b *Blobs) String() string { return "folder " + b.root }

var namePattern = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9._/-]*$`)

// path returns the file of object name, refusing names that could leave
// the root.
func (b *Blobs) path(name string) (string, error) {
	if !namePattern.MatchString(name) || strings.Contains(name, "..") || strings.Contains(name, "//") ||
		strings.HasSuffix(name, "/") || strings.HasPrefix(name, ".tmp") {
		return "", fault.Errorf(fault.Invalid, "bad object name %q", name)
	}
	return filepath.Join(b.root, filepath.FromSlash(name)), nil
}

// Put implements ledger.Blobs.
func (b *Blobs) Put(ctx context.Context, name string, r io.Reader, size int64, _ string) (err error) {
	dst, err := b.path(name)
	if err != nil {
		return err
	}
	tmpDir := filepath.Join(b.root, ".tmp")
	if err := os.MkdirAll(tmpDir, 0o700); err != nil {
		return translate(err)
	}
	f, err := os.CreateTemp(tmpDir, "put-*")
	if err != nil {
		return translate(err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	n, err := io.Copy(fileWriter{f}, ctxReader{ctx, r})
	if err != nil {
		return err // the reader's error, unchanged, or a translated write error
	}
	if size >= 0 && n != size {
		return fault.Errorf(fault.Invalid, "the object has %d bytes, %d were announced", n, size)
	}
	if err := f.Sync(); err != nil {
		return translate(err)
	}
	if err := f.Close(); err != nil {
		return translate(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return translate(err)
	}
	if err := os.Rename(f.Name(), dst); err != nil {
		return translate(err)
	}
	return syncDir(filepath.Dir(dst))
}

// Get implements ledger.Blobs.
func (b *Blobs) Get(_ context.Context, name string) (io.ReadCloser, ledger.BlobInfo, error) {
	p, err := b.path(name)
	if err != nil {
		return nil, ledger.BlobInfo{}, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, ledger.BlobInfo{}, translate(err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, ledger.BlobInfo{}, translate(err)
	}
	return f, ledger.BlobInfo{Size: fi.Size()}, nil
}

// Stat implements ledger.Blobs.
func (b *Blobs) Stat(_ context.Context, name string) (ledger.BlobInfo, error) {
	p, err := b.path(name)
	if err != nil {
		return ledger.BlobInfo{}, err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return ledger.BlobInfo{}, translate(err)
	}
	return ledger.BlobInfo{Size: fi.Size()}, nil
}

// Delete implements ledger.Blobs.
func (b *Blobs) Delete(_ context.Context, name string) error {
	p, err := b.path(name)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return translate(err)
	}
	return nil
}

// PresignGet implements ledger.Blobs: a folder cannot presign.
func (b *Blobs) PresignGet(context.Context, string, time.Duration) (string, error) {
	return "", ledger.ErrNotSupported
}

// Health implements ledger.Blobs: the folder exists (it is created if
// missing) and is a directory.
func (b *Blobs) Health(context.Context) error {
	if err := os.MkdirAll(b.root, 0o700); err != nil {
		return translate(err)
	}
	fi, err := os.Stat(b.root)
	if err != nil {
		return translate(err)
	}
	if !fi.IsDir() {
		return fault.Errorf(fault.Unavailable, "blob folder %s is not a directory", b.root)
	}
	return nil
}

// translate maps file-system errors to ledger errors.
func translate(err error) error {
	var le *fault.Error
	switch {
	case err == nil, errors.As(err, &le):
		return err
	case errors.Is(err, fs.ErrNotExist):
		return fault.Wrap(fault.NotFound, "no such object", err)
	default:
		return fault.Wrap(fault.Unavailable, "the blob folder failed", err)
	}
}

// syncDir makes a rename into dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return translate(err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return translate(err)
	}
	return nil
}

// ctxReader stops a copy when ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, fault.Wrap(fault.Unavailable, "the upload was cancelled", err)
	}
	return c.r.Read(p)
}

// fileWriter translates write errors (a full disk, say).
type fileWriter struct{ f *os.File }

func (w fileWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	return n, translate(err)
}
