// Package blob is what the ledger knows of attachment bytes, apart from
// any record: the contract of the object store that keeps them (Store: a
// local folder, storage/fsblob, or an S3 bucket, storage/s3blob), the
// content types an upload may declare, and the checks its bytes pass on
// their way to the store (the declared type against the first bytes, UTF-8
// text without NUL for CSV as it streams, the size limit, the SHA-256). It
// knows nothing of lots or records and imports only coldtrace/ledger/fault.
package blob

import (
	"context"
	"errors"
	"io"
	"time"
)

// A Store is the object store that keeps attachment bytes: a local folder
// (storage/fsblob) or an S3 bucket (storage/s3blob). The ledger names the
// objects; names are relative, slash-separated paths of letters, digits and
// '.', '_', '-', '/' that never start with '/' or contain "..".
//
// The ledger keeps what it knows about an object (its SHA-256, size, type
// and who uploaded it) in its own store, so a blob Store only stores bytes.
//
// Implementations translate their library's errors at the boundary: a
// missing object is a NotFound *fault.Error; an object store that cannot be
// reached, refuses the credentials or fails is an Unavailable *fault.Error.
// An error returned by the reader given to Put is returned unchanged or
// wrapped so that errors.As finds it.
type Store interface {
	// Put stores the bytes read from r, until io.EOF, under name. size is
	// the number of bytes r yields, or -1 when it is not known; memory use
	// stays bounded either way (r is streamed, never read whole into
	// memory). When Put returns an error nothing is left under name: a
	// failed or cancelled upload is never visible as an object.
	// contentType is kept as object metadata where the store has any.
	Put(ctx context.Context, name string, r io.Reader, size int64, contentType string) error
	// Get opens name for reading. It returns a NotFound *fault.Error when
	// there is no such object. The caller closes the reader.
	Get(ctx context.Context, name string) (io.ReadCloser, Info, error)
	// Stat returns what the store knows of name, or a NotFound *fault.Error.
	Stat(ctx context.Context, name string) (Info, error)
	// Delete removes name; deleting a missing object is not an error.
	Delete(ctx context.Context, name string) error
	// PresignGet returns a URL from which anyone may GET the object for
	// ttl, without other credentials. Stores that cannot do this return
	// ErrNotSupported.
	PresignGet(ctx context.Context, name string, ttl time.Duration) (string, error)
	// Health returns nil when the store can serve now, else an Unavailable
	// *fault.Error saying why.
	Health(ctx context.Context) error
}

// Info describes a stored object.
type Info struct {
	Size int64
}

// ErrNotSupported is returned by an optional Blobs method that a store does
// not implement (PresignGet on a local folder).
var ErrNotSupported = errors.New("not supported by this blob store")

// The content types an attachment may have.
const (
	TypePDF  = "application/pdf"
	TypeJPEG = "image/jpeg"
	TypePNG  = "image/png"
	TypeCSV  = "text/csv"
)

// ContentTypes lists the content types an upload may declare.
var ContentTypes = []string{TypePDF, TypeJPEG, TypePNG, TypeCSV}
