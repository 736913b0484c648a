package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"mime"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"coldtrace/ledger/fault"
)

// SniffLen is how many leading bytes of an upload are read, before the
// blob Store is contacted, to check them against the declared type.
const SniffLen = 512

// NormalizeContentType parses a declared content type and returns the bare
// media type if it is one of ContentTypes. A CSV may only declare
// the UTF-8 charset.
func NormalizeContentType(declared string) (string, error) {
	if strings.TrimSpace(declared) == "" {
		return "", fault.InvalidField("Content-Type", "is required: one of %s", strings.Join(ContentTypes, ", "))
	}
	mt, params, err := mime.ParseMediaType(declared)
	if err != nil {
		return "", fault.InvalidField("Content-Type", "is not a media type: %v", err)
	}
	if !slices.Contains(ContentTypes, mt) {
		return "", fault.InvalidField("Content-Type", "%s is not accepted; one of %s", mt, strings.Join(ContentTypes, ", "))
	}
	if cs, ok := params["charset"]; ok && mt == TypeCSV && !strings.EqualFold(cs, "utf-8") {
		return "", fault.InvalidField("Content-Type", "a CSV must be UTF-8, not %s", cs)
	}
	return mt, nil
}

// magic holds the leading bytes that each binary content type starts with.
var magic = map[string][]byte{
	TypePDF:  []byte("%PDF-"),
	TypeJPEG: {0xff, 0xd8, 0xff},
	TypePNG:  {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'},
}

// Sniff checks the first bytes of an upload against its declared type. A
// CSV's first bytes are checked here too (so that a binary file labelled
// text/csv never reaches the store); the rest is checked as it streams.
func Sniff(ct string, head []byte) error {
	if m, ok := magic[ct]; ok {
		if !bytes.HasPrefix(head, m) {
			return fault.InvalidField("body", "does not match its declared type %s (it does not start with the %s signature)", ct, ct)
		}
		return nil
	}
	var t textCheck
	if err := t.write(head); err != nil {
		return fault.InvalidField("body", "is not %s: %v", ct, err)
	}
	return nil
}

// A textCheck checks a stream, chunk by chunk, for valid UTF-8 without NUL
// bytes: what a CSV must be.
type textCheck struct {
	carry []byte // the start of a character split across chunks
	off   int64  // bytes checked before carry
}

func (t *textCheck) write(p []byte) error {
	if i := bytes.IndexByte(p, 0); i >= 0 {
		return errTextAt("has a NUL byte", t.off+int64(len(t.carry))+int64(i))
	}
	if len(t.carry) > 0 {
		// Complete the carried character with up to 3 more bytes.
		k := min(utf8.UTFMax-len(t.carry), len(p))
		buf := append(slices.Clone(t.carry), p[:k]...)
		if !utf8.FullRune(buf) {
			t.carry = buf
			return nil
		}
		r, size := utf8.DecodeRune(buf)
		if r == utf8.RuneError && size <= 1 {
			return errTextAt("is not valid UTF-8", t.off)
		}
		p = p[size-len(t.carry):]
		t.off += int64(size)
		t.carry = nil
	}
	cut := len(p)
	for i := len(p) - 1; i >= 0 && i >= len(p)-utf8.UTFMax+1; i-- {
		if utf8.RuneStart(p[i]) {
			if !utf8.FullRune(p[i:]) {
				cut = i
			}
			break
		}
	}
	if !utf8.Valid(p[:cut]) {
		i := 0
		for i < cut {
			r, size := utf8.DecodeRune(p[i:cut])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			i += size
		}
		return errTextAt("is not valid UTF-8", t.off+int64(i))
	}
	t.off += int64(cut)
	t.carry = slices.Clone(p[cut:])
	return nil
}

// close reports a character cut off by the end of the stream.
func (t *textCheck) close() error {
	if len(t.carry) > 0 {
		return errTextAt("ends in the middle of a UTF-8 character", t.off)
	}
	return nil
}

type textError struct {
	what string
	at   int64
}

func (e *textError) Error() string { return e.what + " at byte " + strconv.FormatInt(e.at, 10) }

func errTextAt(what string, at int64) error { return &textError{what, at} }

// An UploadReader is what the ledger hands the blob Store: it hashes and
// counts the bytes on the way, enforces the size limit and, for CSV, the
// text rule, and reaches io.EOF only once every check has passed, so that a
// blob store never completes an object whose bytes were refused. Its first
// error is kept in err: the cause of a failed Put.
type UploadReader struct {
	r    io.Reader
	h    hash.Hash
	n    int64
	size int64 // declared size, -1 when unknown
	max  int64
	ct   string
	text *textCheck
	done bool // every byte was read and checked
	err  error
}

// NewUploadReader reads r, an upload of declared type ct (from
// NormalizeContentType) and size (-1 when unknown), refusing more than max
// bytes.
func NewUploadReader(r io.Reader, ct string, size, max int64) *UploadReader {
	u := &UploadReader{r: r, h: sha256.New(), size: size, max: max, ct: ct}
	if ct == TypeCSV {
		u.text = &textCheck{}
	}
	return u
}

// Err is the first error a Read returned: why the bytes were refused (or
// could not be read), or nil.
func (u *UploadReader) Err() error { return u.err }

// Done reports whether every byte was read and passed every check.
func (u *UploadReader) Done() bool { return u.done }

// Len is how many bytes were read.
func (u *UploadReader) Len() int64 { return u.n }

// SHA256 is the hex SHA-256 of the bytes read.
func (u *UploadReader) SHA256() string { return hex.EncodeToString(u.h.Sum(nil)) }

func (u *UploadReader) fail(err error) (int, error) {
	u.err = err
	return 0, err
}

func (u *UploadReader) Read(p []byte) (int, error) {
	if u.err != nil {
		return 0, u.err
	}
	if u.done {
		return 0, io.EOF
	}
	if u.size >= 0 && int64(len(p)) > u.size-u.n {
		p = p[:u.size-u.n]
	}
	n, err := u.r.Read(p)
	if n > 0 {
		u.n += int64(n)
		if u.n > u.max {
			return u.fail(fault.Errorf(fault.TooLarge, "the attachment is larger than the limit of %d bytes", u.max))
		}
		if u.text != nil {
			if terr := u.text.write(p[:n]); terr != nil {
				return u.fail(fault.InvalidField("body", "is not %s: %v", u.ct, terr))
			}
		}
		u.h.Write(p[:n])
	}
	if err != nil && err != io.EOF {
		return u.fail(ReadError(err))
	}
	if err == io.EOF || (u.size >= 0 && u.n == u.size) {
		if u.size >= 0 && u.n < u.size {
			return u.fail(fault.InvalidField("body", "ended after %d of the %d bytes announced", u.n, u.size))
		}
		if u.text != nil {
			if terr := u.text.close(); terr != nil {
				return u.fail(fault.InvalidField("body", "is not %s: %v", u.ct, terr))
			}
		}
		u.done = true
		if n == 0 {
			return 0, io.EOF
		}
	}
	return n, nil
}

// ReadError classifies a failure to read an upload's body.
func ReadError(err error) error {
	var le *fault.Error
	switch {
	case errors.As(err, &le):
		return err
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fault.Wrap(fault.Unavailable, "the upload was cancelled", err)
	}
	return fault.Wrap(fault.Invalid, "the upload body could not be read", err)
}
