package ledger

import (
	"bytes"
	"encoding/base64"
	"flag"
	"os"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"coldtrace/ledger/fault"
)

var update = flag.Bool("update", false, "rewrite golden files")

// goldenRecord exercises every field family of the record encoding.
func goldenRecord() *Record {
	at := time.Date(2026, 11, 20, 8, 30, 0, 0, time.UTC)
	return &Record{
		Seq: 7, ID: "0193a0c4-7b3e-7c1a-9f00-0123456789ab",
		RecordedAt: at.Add(1500 * time.Millisecond),
		Actor:      Actor{Org: "91310000MA1FL4CT3U", Key: "3f1c2d4e-0000-4000-8000-000000000001"},
		Event: Event{
			Kind: OrgRegistered, At: at,
			USCC: "91310000MA1FL4CT3U", Name: "上海<冷链>进口 & 贸易有限公司", Roles: []string{RoleImporter, RoleColdStore},
			Region: "310115", Note: "golden",
		},
	}
}

// TestRecordGolden pins the record encoding and its leaf hash: a change to
// either breaks every existing log, so it must be deliberate (go test
// -update).
func TestRecordGolden(t *testing.T) {
	data, err := encodeRecord(goldenRecord())
	if err != nil {
		t.Fatal(err)
	}
	h := tlog.RecordHash(data)
	hash := []byte(base64.StdEncoding.EncodeToString(h[:]) + "\n")
	if *update {
		os.WriteFile("testdata/record.golden", data, 0o644)
		os.WriteFile("testdata/record.hash", hash, 0o644)
	}
	want, err := os.ReadFile("testdata/record.golden")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, want) {
		t.Errorf("record encoding changed:\n got %s\nwant %s", data, want)
	}
	wantHash, _ := os.ReadFile("testdata/record.hash")
	if !bytes.Equal(hash, wantHash) {
		t.Errorf("leaf hash changed: got %s want %s", hash, wantHash)
	}
	// Decoding and re-encoding gives the same bytes.
	rec, err := DecodeRecord(data)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := encodeRecord(rec)
	if !bytes.Equal(again, data) {
		t.Errorf("re-encoding differs:\n%s\n%s", again, data)
	}
}

func TestDecodeRecordRejects(t *testing.T) {
	for _, s := range []string{
		``, `{`, `[]`, `{"seq":1,"bogus":2}`, `{"seq":1} {"seq":2}`, `{"seq":"1"}`,
	} {
		if _, err := DecodeRecord([]byte(s)); fault.KindOf(err) != fault.Tampered {
			t.Errorf("DecodeRecord(%s) = %v, want a Tampered error", s, err)
		}
	}
}

func FuzzDecodeRecord(f *testing.F) {
	data, _ := encodeRecord(goldenRecord())
	f.Add(data)
	f.Add([]byte(`{"seq":0,"kind":"key_created"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := DecodeRecord(data)
		if err != nil {
			return
		}
		// Whatever decodes must encode, and that encoding must decode to the
		// same encoding again (the canonical form is a fixed point).
		enc, err := encodeRecord(rec)
		if err != nil {
			t.Fatal(err)
		}
		rec2, err := DecodeRecord(enc)
		if err != nil {
			t.Fatalf("canonical encoding does not decode: %v\n%s", err, enc)
		}
		enc2, _ := encodeRecord(rec2)
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("canonical encoding is not stable:\n%s\n%s", enc, enc2)
		}
	})
}
