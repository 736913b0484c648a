package blob

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"coldtrace/ledger/fault"
)

func TestNormalizeContentType(t *testing.T) {
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"application/pdf", TypePDF, true},
		{"Application/PDF", TypePDF, true},
		{"image/jpeg", TypeJPEG, true},
		{"image/png", TypePNG, true},
		{"text/csv", TypeCSV, true},
		{"text/csv; charset=utf-8", TypeCSV, true},
		{"text/csv; charset=UTF-8", TypeCSV, true},
		{"text/csv; charset=gbk", "", false},
		{"", "", false},
		{"   ", "", false},
		{"application/zip", "", false},
		{"image/gif", "", false},
		{"text/plain", "", false},
		{"application/octet-stream", "", false},
		{"not a type", "", false},
	} {
		got, err := NormalizeContentType(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("NormalizeContentType(%q) = %q, %v; want %q, ok=%v", c.in, got, err, c.want, c.ok)
		}
		if err != nil && fieldOf(err) != "Content-Type" {
			t.Errorf("NormalizeContentType(%q) names field %q, want Content-Type", c.in, fieldOf(err))
		}
	}
}

func fieldOf(err error) string {
	var e *fault.Error
	if errors.As(err, &e) && len(e.Fields) > 0 {
		return e.Fields[0].Field
	}
	return ""
}

func TestSniff(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	jpeg := []byte{0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 'J', 'F', 'I', 'F'}
	pdf := []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	csv := []byte("批次,温度\nA1,-18\n")
	for _, c := range []struct {
		ct   string
		head []byte
		ok   bool
	}{
		{TypePNG, png, true},
		{TypeJPEG, jpeg, true},
		{TypePDF, pdf, true},
		{TypeCSV, csv, true},
		{TypeCSV, []byte("\xef\xbb\xbfa,b\n"), true}, // with a BOM
		{TypePNG, jpeg, false},
		{TypeJPEG, png, false},
		{TypePDF, csv, false},
		{TypePNG, []byte("\x89PN"), false},
		{TypeCSV, png, false},
		{TypeCSV, []byte("a,b\x00\n"), false},
		{TypeCSV, []byte("a,\xff\n"), false},
	} {
		err := Sniff(c.ct, c.head)
		if (err == nil) != c.ok {
			t.Errorf("Sniff(%s, %q) = %v, want ok=%v", c.ct, c.head, err, c.ok)
		}
		if err != nil && fieldOf(err) != "body" {
			t.Errorf("Sniff names field %q, want body", fieldOf(err))
		}
	}
}

// checkChunks runs a textCheck over data cut into chunks of n bytes.
func checkChunks(data []byte, n int) error {
	var tc textCheck
	for len(data) > 0 {
		k := min(n, len(data))
		if err := tc.write(data[:k]); err != nil {
			return err
		}
		data = data[k:]
	}
	return tc.close()
}

func TestTextCheckAcrossChunks(t *testing.T) {
	for _, c := range []struct {
		data string
		ok   bool
		at   int64
	}{
		{"plain,ascii\n", true, 0},
		{"冷链,进口,€,𝄞\n", true, 0},
		{"\u00e9\u4e2d\U0001F600", true, 0},
		{"ok\x00", false, 2},
		{"ab\xe4\xb8", false, 2},      // cut off at the end
		{"ab\xe4\xb8x", false, 2},     // broken in the middle
		{"ab\xc0\xafc", false, 2},     // overlong encoding
		{"abc\xed\xa0\x80", false, 3}, // a surrogate
		{"中文\xff中文", false, 6},        // a stray byte
		{"\U0001F600\xf0\x9f\x98", false, 4},
	} {
		for n := 1; n <= len(c.data)+1; n++ {
			err := checkChunks([]byte(c.data), n)
			if (err == nil) != c.ok {
				t.Errorf("%q in chunks of %d: %v, want ok=%v", c.data, n, err, c.ok)
				continue
			}
			var te *textError
			if err != nil && (!errors.As(err, &te) || te.at != c.at) {
				t.Errorf("%q in chunks of %d: %v, want the problem at byte %d", c.data, n, err, c.at)
			}
		}
	}
}

// FuzzTextCheck checks the streaming check against the standard library on
// the whole input, for any cut into chunks.
func FuzzTextCheck(f *testing.F) {
	f.Add([]byte("a,b\n1,2\n"), 3)
	f.Add([]byte("冷链\xe4\xb8"), 1)
	f.Add([]byte("\xf0\x9f\x98\x80x"), 2)
	f.Fuzz(func(t *testing.T, data []byte, n int) {
		if n <= 0 || n > 64 {
			n = 1 + (n&63+64)%64
		}
		want := utf8.Valid(data) && bytes.IndexByte(data, 0) < 0
		if got := checkChunks(data, n) == nil; got != want {
			t.Fatalf("chunks of %d: valid=%v, want %v", n, got, want)
		}
	})
}

func TestUploadReader(t *testing.T) {
	data := []byte("a,b\n1,2\n")
	sum := sha256.Sum256(data)
	read := func(u *UploadReader) ([]byte, error) { return io.ReadAll(u) }

	t.Run("HashesAndEnds", func(t *testing.T) {
		for _, size := range []int64{-1, int64(len(data))} {
			u := NewUploadReader(iotest.OneByteReader(bytes.NewReader(data)), TypeCSV, size, 100)
			got, err := read(u)
			if err != nil || !bytes.Equal(got, data) || !u.done || hex.EncodeToString(u.h.Sum(nil)) != hex.EncodeToString(sum[:]) {
				t.Fatalf("size %d: read %q, %v, done %v", size, got, err, u.done)
			}
		}
	})
	t.Run("StopsAtTheDeclaredSize", func(t *testing.T) {
		u := NewUploadReader(strings.NewReader("1234567890"), TypePDF, 4, 100)
		buf := make([]byte, 10)
		n, err := u.Read(buf)
		if n != 4 || err != nil || !u.done {
			t.Fatalf("Read = %d, %v, done %v; want 4 bytes and done", n, err, u.done)
		}
		if n, err := u.Read(buf); n != 0 || err != io.EOF {
			t.Fatalf("Read after the end = %d, %v", n, err)
		}
	})
	t.Run("TooLarge", func(t *testing.T) {
		u := NewUploadReader(bytes.NewReader(make([]byte, 101)), TypePDF, -1, 100)
		if _, err := read(u); fault.KindOf(err) != fault.TooLarge || fault.KindOf(u.err) != fault.TooLarge {
			t.Fatalf("err = %v, want TooLarge", err)
		}
	})
	t.Run("ShortBody", func(t *testing.T) {
		u := NewUploadReader(bytes.NewReader(data), TypeCSV, 100, 1000)
		if _, err := read(u); fault.KindOf(err) != fault.Invalid || u.done {
			t.Fatalf("err = %v, done %v; want Invalid", err, u.done)
		}
	})
	t.Run("CSVBrokenAtTheEndNeverReachesEOF", func(t *testing.T) {
		bad := []byte("a,b\n\xe4\xb8")
		for _, size := range []int64{-1, int64(len(bad))} {
			u := NewUploadReader(bytes.NewReader(bad), TypeCSV, size, 1000)
			if _, err := read(u); fault.KindOf(err) != fault.Invalid || fieldOf(err) != "body" || u.done {
				t.Fatalf("size %d: err = %v, done %v; want Invalid body", size, err, u.done)
			}
		}
	})
	t.Run("ReadErrorsAreKept", func(t *testing.T) {
		boom := errors.New("connection reset")
		u := NewUploadReader(iotest.ErrReader(boom), TypePDF, -1, 1000)
		if _, err := read(u); !errors.Is(err, boom) || fault.KindOf(err) != fault.Invalid {
			t.Fatalf("err = %v, want Invalid wrapping the read error", err)
		}
	})
}
