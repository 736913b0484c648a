package ledger

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"hash"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"coldtrace/ledger/blob"
	"coldtrace/ledger/fault"
	"coldtrace/ledger/input"
)

// Document types: what an attachment is to the record that references it.
// Together they are the papers of "三证/五证一码".
const (
	DocCustomsDeclaration      = "customs_declaration"      // 报关单
	DocQuarantineCertificate   = "quarantine_certificate"   // 检验检疫证明
	DocTestReport              = "test_report"              // 核酸检测报告
	DocDisinfectionCertificate = "disinfection_certificate" // 消毒证明
	DocReleaseCertificate      = "release_certificate"      // 出仓证明
	DocTemperatureLog          = "temperature_log"          // 温度记录
	DocDestructionCertificate  = "destruction_certificate"  // 销毁证明
	DocOther                   = "other"
)

// DocumentTypes lists the document types a record may give an attachment.
var DocumentTypes = []string{
	DocCustomsDeclaration, DocQuarantineCertificate, DocTestReport, DocDisinfectionCertificate,
	DocReleaseCertificate, DocTemperatureLog, DocDestructionCertificate, DocEvidence, DocRectificationNotice, DocOther,
}

// The content types an attachment may have (ledger/blob).
const (
	TypePDF  = blob.TypePDF
	TypeJPEG = blob.TypeJPEG
	TypePNG  = blob.TypePNG
	TypeCSV  = blob.TypeCSV
)

// AttachmentContentTypes lists the content types PutAttachment accepts.
var AttachmentContentTypes = blob.ContentTypes

// Blobs is the object store that keeps attachment bytes; ledger/blob has
// its contract. Adapters: storage/fsblob, storage/s3blob.
type Blobs = blob.Store

// BlobInfo describes a stored object.
type BlobInfo = blob.Info

// ErrNotSupported is returned by an optional Blobs method that a store does
// not implement (PresignGet on a local folder).
var ErrNotSupported = blob.ErrNotSupported

// DefaultMaxAttachmentBytes is the size limit of one attachment when
// Options.MaxAttachmentBytes is 0.
const DefaultMaxAttachmentBytes = 50 << 20

// maxAttachmentRefs bounds the attachments one record may reference.
const maxAttachmentRefs = 64

// An AttachmentRef is how a record references an uploaded attachment: by the
// SHA-256 of its bytes, with the document type it is to that record.
type AttachmentRef struct {
	SHA256 string `json:"sha256"`
	Type   string `json:"type"`
}

// An Uploader is one upload of an attachment's bytes: the org and key that
// sent them and when.
type Uploader struct {
	Org string    `json:"org,omitempty"`
	Key string    `json:"key"`
	At  time.Time `json:"at"`
}

// An Attachment is what the ledger records of uploaded bytes, in its own
// Store (a/att/<sha256>), so that references are checked without asking the
// object store. It is not part of the log.
type Attachment struct {
	SHA256      string    `json:"sha256"`
	Size        int64     `json:"size"`
	ContentType string    `json:"content_type"`
	UploadedAt  time.Time `json:"uploaded_at"`
	// Object is the name of the object that holds the bytes in the Blobs.
	Object string `json:"object"`
	// Uploaders lists the first upload of each org (of each key for keys
	// without an org) that sent these bytes; the first stored them.
	Uploaders []Uploader `json:"uploaders"`
}

// uploadedBy reports whether p's org (or, for a key without an org, p's key)
// uploaded a's bytes.
func (a *Attachment) uploadedBy(p Principal) bool {
	return slices.ContainsFunc(a.Uploaders, func(u Uploader) bool {
		if p.Org != "" {
			return u.Org == p.Org
		}
		return u.Org == "" && u.Key == p.Key
	})
}

// ValidSHA256 reports whether s is a SHA-256 as the ledger writes it: 64
// lowercase hexadecimal digits.
func ValidSHA256(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// checkAttachmentRefs validates the shape of a record's attachment
// references, naming offending fields attachments[i].sha256 and
// attachments[i].type.
func checkAttachmentRefs(fe *fault.Fields, refs []AttachmentRef) {
	if !input.List(fe, "attachments", refs, maxAttachmentRefs, "", func(r AttachmentRef) string { return r.SHA256 + " " + r.Type }) {
		return
	}
	for i, r := range refs {
		f := indexField("attachments", i)
		switch {
		case r.SHA256 == "":
			fe.Add(f+".sha256", "is required")
		case !ValidSHA256(r.SHA256):
			fe.Add(f+".sha256", "is not a SHA-256 (64 lowercase hexadecimal digits)")
		}
		switch {
		case r.Type == "":
			fe.Add(f+".type", "is required")
		case !slices.Contains(DocumentTypes, r.Type):
			fe.Add(f+".type", "unknown document type %q (one of %s)", r.Type, strings.Join(DocumentTypes, ", "))
		}
	}
}

// attachmentStore is the ledger's side of attachments: the object store, the
// size limit and the lock that orders upload records.
type attachmentStore struct {
	blobs Blobs
	max   int64
	// mu orders the writes of upload records (see recordUpload).
	mu sync.Mutex
}

func newAttachmentStore(opts Options) *attachmentStore {
	a := &attachmentStore{blobs: opts.Blobs, max: opts.MaxAttachmentBytes}
	if a.max <= 0 {
		a.max = DefaultMaxAttachmentBytes
	}
	return a
}

// MaxAttachmentBytes returns the size limit of one attachment.
func (l *Ledger) MaxAttachmentBytes() int64 { return l.att.max }

func (l *Ledger) blobs() (Blobs, error) {
	if l.att.blobs == nil {
		return nil, fault.Errorf(fault.Unavailable, "no blob store is configured; attachments cannot be stored")
	}
	return l.att.blobs, nil
}

// BlobsHealthy returns nil when the blob store can serve now (or when none
// is configured), else an Unavailable error saying why.
func (l *Ledger) BlobsHealthy(ctx context.Context) error {
	if l.att.blobs == nil {
		return nil
	}
	if err := l.att.blobs.Health(ctx); err != nil {
		return unavailable(err)
	}
	return nil
}

// unavailable makes sure an error of the object store reaches clients as
// Unavailable (retry later), keeping more specific kinds it already has.
func unavailable(err error) error {
	if fault.KindOf(err) == fault.Internal {
		return fault.Wrap(fault.Unavailable, "the blob store failed", err)
	}
	return err
}

// PutAttachment stores the bytes read from r as an attachment of the given
// content type on behalf of p and records the upload. size is the number of
// bytes r yields, or -1 when unknown.
//
// The bytes are streamed to the blob store, never held whole in memory; their
// SHA-256 is computed on the way. The declared type must be one of
// AttachmentContentTypes and the bytes must match it (magic bytes for PDF,
// JPEG and PNG; valid UTF-8 without NUL bytes for CSV): else an Invalid
// error naming "Content-Type" or "body". More than MaxAttachmentBytes is a
// TooLarge error. Bytes that were uploaded before are stored once: the
// earlier upload record is returned (with p added to its uploaders). When
// the blob store cannot be reached the error is Unavailable. On any error
// nothing is recorded and no object is left behind (deleting a partial
// object is best effort when the store has just gone down; an object that
// no upload record names is never served nor referenced).
func (l *Ledger) PutAttachment(ctx context.Context, p Principal, contentType string, r io.Reader, size int64) (*Attachment, error) {
	ct, err := blob.NormalizeContentType(contentType)
	if err != nil {
		return nil, err
	}
	if size > l.att.max {
		return nil, l.tooLarge()
	}
	blobs, err := l.blobs()
	if err != nil {
		return nil, err
	}
	// Look at the first bytes before anything reaches the object store, so
	// that a mislabelled file is refused at once.
	head := make([]byte, blob.SniffLen)
	n, err := io.ReadFull(r, head)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, blob.ReadError(err)
	}
	head = head[:n]
	if n == 0 {
		return nil, fault.InvalidField("body", "is empty; an attachment needs content")
	}
	if err := blob.Sniff(ct, head); err != nil {
		return nil, err
	}
	up := blob.NewUploadReader(io.MultiReader(bytes.NewReader(head), r), ct, size, l.att.max)
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	name := "att/" + id.String()
	err = blobs.Put(ctx, name, up, size, ct)
	if up.Err() != nil {
		// The bytes themselves were refused (too large, not of their type,
		// the client's body broke): that is the cause, whatever the store
		// made of the interrupted upload.
		l.discard(name)
		return nil, up.Err()
	}
	if err != nil {
		l.discard(name)
		if ctx.Err() != nil {
			return nil, fault.Wrap(fault.Unavailable, "the upload was cancelled", err)
		}
		return nil, unavailable(err)
	}
	if !up.Done() {
		l.discard(name)
		return nil, fault.Errorf(fault.Internal, "the blob store stopped reading the upload after %d bytes", up.Len())
	}
	att, dup, err := l.recordUpload(context.WithoutCancel(ctx), p, up.SHA256(), up.Len(), ct, name)
	if err != nil || dup {
		l.discard(name)
	}
	return att, err
}

func (l *Ledger) tooLarge() error {
	return fault.Errorf(fault.TooLarge, "the attachment is larger than the limit of %d bytes", l.att.max)
}

// recordUpload writes the upload record of the bytes stored under object,
// or, when these bytes were uploaded before, adds p to the existing record
// and reports dup (the caller deletes the duplicate object).
//
// This write does not go through the sequencer: an upload record is not a
// log record, it lives in the auxiliary a/ namespace that the log and the
// derived state never read back when replaying, and it is idempotent because
// it is keyed by content (the same bytes always give the same key and the
// same meaning). It is its own small Store transaction, serialised with other
// upload records by att.mu; the sequencer's transactions touch disjoint keys
// (l/, s/, a/idem/, a/keyhash/), so the two writers never conflict. A record
// that references the attachment is validated by the sequencer against a
// snapshot that either has the upload record or not: never half of it. The blob
// is stored by then, so callers pass a ctx that is not cancelled with the
// client (context.WithoutCancel).
func (l *Ledger) recordUpload(ctx context.Context, p Principal, sha string, size int64, ct, object string) (att *Attachment, dup bool, err error) {
	l.att.mu.Lock()
	defer l.att.mu.Unlock()
	now := l.now().UTC()
	me := Uploader{Org: p.Org, Key: p.Key, At: now}
	err = l.store.Update(ctx, func(tx Tx) error {
		k := attachmentKey(sha)
		v, err := tx.Get(k)
		switch {
		case err == nil:
			dup = true
			att = new(Attachment)
			if err := json.Unmarshal(v, att); err != nil {
				return fault.Wrap(fault.Tampered, "stored upload record does not decode", err)
			}
			if att.uploadedBy(p) {
				return nil
			}
			att.Uploaders = append(att.Uploaders, me)
		case fault.KindOf(err) == fault.NotFound:
			att = &Attachment{SHA256: sha, Size: size, ContentType: ct, UploadedAt: now, Object: object, Uploaders: []Uploader{me}}
		default:
			return err
		}
		data, err := json.Marshal(att)
		if err != nil {
			return err
		}
		return tx.Set(k, data)
	})
	if err == nil {
		err = l.store.Sync() // the 201 of an upload means its record is on disk
	}
	if err != nil {
		return nil, false, err
	}
	return att, dup, nil
}

// discard deletes an object that no upload record names, best effort: it
// runs on its own short deadline so that a cancelled request still cleans
// up, and only logs a failure (an unnamed object is never served).
func (l *Ledger) discard(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := l.att.blobs.Delete(ctx, name); err != nil {
		l.log.Warn("could not delete an unrecorded upload from the blob store", "object", name, "err", err)
	}
}

// Attachment returns the upload record of the attachment with the given
// SHA-256 if p may read it: Invalid for a malformed hash, NotFound when no
// such bytes were uploaded, Forbidden when p may not see them.
//
// Readers are: admin keys; the orgs (keys, for keys without an org) that
// uploaded the bytes; and keys that can see a lot whose records reference
// the attachment (the s/x/att-lot/<sha256> index), which for a regulator
// means a lot that was in one of its regions.
func (l *Ledger) Attachment(ctx context.Context, p Principal, sha string) (*Attachment, error) {
	if !ValidSHA256(sha) {
		return nil, fault.InvalidField("sha256", "is not a SHA-256 (64 lowercase hexadecimal digits)")
	}
	var att *Attachment
	err := l.view(ctx, func(st *state) error {
		var err error
		if att, err = st.attachment(sha); err != nil {
			return err
		}
		ok, err := canReadAttachment(st, p, att)
		if err != nil {
			return err
		}
		if !ok {
			return fault.Errorf(fault.Forbidden, "this key may not read attachment %s: its org did not upload it and it is not among the papers of a lot the key may see", sha)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return att, nil
}

func (st *state) attachment(sha string) (*Attachment, error) {
	var a Attachment
	if err := st.getJSON(attachmentKey(sha), &a); err != nil {
		if fault.KindOf(err) == fault.NotFound {
			return nil, fault.Errorf(fault.NotFound, "no attachment with SHA-256 %s was uploaded", sha)
		}
		return nil, err
	}
	return &a, nil
}

// OpenAttachment returns the upload record and the bytes of the attachment
// with the given SHA-256, if p may read it (see Attachment). The reader
// re-hashes the bytes as they are read and fails with a Tampered error at the
// end if they are not the recorded ones. An object missing from the blob
// store, or of the wrong size, is a Tampered error; an unreachable store an
// Unavailable one.
func (l *Ledger) OpenAttachment(ctx context.Context, p Principal, sha string) (*Attachment, io.ReadCloser, error) {
	att, err := l.Attachment(ctx, p, sha)
	if err != nil {
		return nil, nil, err
	}
	blobs, err := l.blobs()
	if err != nil {
		return nil, nil, err
	}
	rc, info, err := blobs.Get(ctx, att.Object)
	if fault.KindOf(err) == fault.NotFound {
		return nil, nil, fault.Errorf(fault.Tampered, "attachment %s is recorded but its object is missing from the blob store", sha)
	}
	if err != nil {
		return nil, nil, unavailable(err)
	}
	if info.Size != att.Size {
		rc.Close()
		return nil, nil, fault.Errorf(fault.Tampered, "attachment %s has %d bytes in the blob store, %d were uploaded", sha, info.Size, att.Size)
	}
	return att, &verifyingReader{rc: rc, h: sha256.New(), want: sha}, nil
}

// AttachmentURL returns a URL from which the attachment's bytes can be read
// without credentials for ttl, if p may read it (see Attachment). It returns
// ErrNotSupported when the blob store cannot presign.
func (l *Ledger) AttachmentURL(ctx context.Context, p Principal, sha string, ttl time.Duration) (string, error) {
	att, err := l.Attachment(ctx, p, sha)
	if err != nil {
		return "", err
	}
	blobs, err := l.blobs()
	if err != nil {
		return "", err
	}
	u, err := blobs.PresignGet(ctx, att.Object, ttl)
	if err != nil && err != ErrNotSupported {
		return "", unavailable(err)
	}
	return u, err
}

// A verifyingReader hashes what it reads and turns the end of the stream
// into a Tampered error when the bytes are not the recorded ones.
type verifyingReader struct {
	rc   io.ReadCloser
	h    hash.Hash
	want string
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	n, err := v.rc.Read(p)
	v.h.Write(p[:n])
	if err == io.EOF {
		if got := hex.EncodeToString(v.h.Sum(nil)); got != v.want {
			return n, fault.Errorf(fault.Tampered, "attachment %s was altered in the blob store: its bytes hash to %s", v.want, got)
		}
	} else if err != nil {
		err = unavailable(err)
	}
	return n, err
}

func (v *verifyingReader) Close() error { return v.rc.Close() }
