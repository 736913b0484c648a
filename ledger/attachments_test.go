package ledger_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"coldtrace/ledger"
	"coldtrace/ledger/fault"
	"coldtrace/ledger/vlog"
	"coldtrace/storage/badgerkv"
	"coldtrace/storage/fsblob"
	"coldtrace/storage/s3blob"
	"coldtrace/storage/storagetest"
)

type fixture struct {
	l     *ledger.Ledger
	store *badgerkv.Store
	blobs ledger.Blobs
	dir   string
}

// newLedger opens a ledger on badger in a temporary folder, with blobs (a
// folder beside it when nil).
func newLedger(t *testing.T, blobs ledger.Blobs, max int64) *fixture {
	t.Helper()
	dir := t.TempDir()
	store, err := badgerkv.Open(filepath.Join(dir, "db"), badgerkv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	_, key, err := vlog.GenerateKey("test.example/ledger")
	if err != nil {
		t.Fatal(err)
	}
	if blobs == nil {
		blobs = fsblob.New(filepath.Join(dir, "blobs"))
	}
	l, err := ledger.New(store, key, ledger.Options{Blobs: blobs, MaxAttachmentBytes: max})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return &fixture{l: l, store: store, blobs: blobs, dir: dir}
}

var (
	admin     = ledger.Principal{Key: "k-admin", Role: ledger.RoleAdmin}
	importer  = ledger.Principal{Key: "k-imp", Org: "91310000MA1FL0000A", Role: ledger.RoleImporter}
	importer2 = ledger.Principal{Key: "k-imp-2", Org: "91310000MA1FL0000A", Role: ledger.RoleImporter}
	lab       = ledger.Principal{Key: "k-lab", Org: "12100000400000624D", Role: ledger.RoleLab}
	retailer  = ledger.Principal{Key: "k-ret", Org: "91440300MA5G00001X", Role: ledger.RoleRetailer}
	regulator = ledger.Principal{Key: "k-reg", Org: "11330000002482000K", Role: ledger.RoleRegulator, Regions: []string{"33"}}
)

func pdf(n int) []byte {
	b := make([]byte, n)
	copy(b, "%PDF-1.7\n")
	for i := 9; i < n; i++ {
		b[i] = byte(i * 7)
	}
	return b
}

func hexSHA(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func read(t *testing.T, f *fixture, p ledger.Principal, sha string) []byte {
	t.Helper()
	_, rc, err := f.l.OpenAttachment(context.Background(), p, sha)
	if err != nil {
		t.Fatalf("OpenAttachment: %v", err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading the attachment: %v", err)
	}
	return b
}

// objects lists the attachment objects in a folder store.
func objects(t *testing.T, f *fixture) []string {
	t.Helper()
	var out []string
	_ = filepath.WalkDir(filepath.Join(f.dir, "blobs", "att"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func TestPutAndOpenAttachment(t *testing.T) {
	f := newLedger(t, nil, 0)
	ctx := context.Background()
	data := pdf(300_000)
	for _, size := range []int64{int64(len(data)), -1} {
		att, err := f.l.PutAttachment(ctx, importer, "application/pdf", iotest.HalfReader(bytes.NewReader(data)), size)
		if err != nil {
			t.Fatalf("PutAttachment (size %d): %v", size, err)
		}
		if att.SHA256 != hexSHA(data) || att.Size != int64(len(data)) || att.ContentType != ledger.TypePDF {
			t.Fatalf("PutAttachment = %+v", att)
		}
		if len(att.Uploaders) != 1 || att.Uploaders[0].Org != importer.Org || att.Uploaders[0].Key != importer.Key || att.Uploaders[0].At.IsZero() {
			t.Fatalf("uploaders = %+v", att.Uploaders)
		}
	}
	if got := read(t, f, importer, hexSHA(data)); !bytes.Equal(got, data) {
		t.Fatal("the bytes read back differ from the bytes uploaded")
	}
	if n := len(objects(t, f)); n != 1 {
		t.Fatalf("the same bytes uploaded twice are stored as %d objects, want 1", n)
	}
}

func TestDuplicateUploadAddsUploader(t *testing.T) {
	f := newLedger(t, nil, 0)
	ctx := context.Background()
	data := []byte("lot,temp\nA,-18\n")
	if _, err := f.l.PutAttachment(ctx, importer, "text/csv", bytes.NewReader(data), -1); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.l.OpenAttachment(ctx, lab, hexSHA(data)); fault.KindOf(err) != fault.Forbidden {
		t.Fatalf("a lab that did not upload it read it: %v", err)
	}
	att, err := f.l.PutAttachment(ctx, lab, "text/csv; charset=utf-8", bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if len(att.Uploaders) != 2 || att.Uploaders[1].Org != lab.Org {
		t.Fatalf("uploaders after a second org's upload = %+v", att.Uploaders)
	}
	if got := read(t, f, lab, att.SHA256); !bytes.Equal(got, data) {
		t.Fatal("the second uploader reads other bytes")
	}
	// The same org again changes nothing.
	att, err = f.l.PutAttachment(ctx, importer2, "text/csv", bytes.NewReader(data), -1)
	if err != nil || len(att.Uploaders) != 2 {
		t.Fatalf("a repeat upload by the same org: %+v, %v", att, err)
	}
	if n := len(objects(t, f)); n != 1 {
		t.Fatalf("%d objects, want 1", n)
	}
}

func TestAttachmentReaders(t *testing.T) {
	f := newLedger(t, nil, 0)
	ctx := context.Background()
	data := pdf(2000)
	att, err := f.l.PutAttachment(ctx, importer, "application/pdf", bytes.NewReader(data), -1)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		who  string
		p    ledger.Principal
		want fault.Kind
	}{
		{"the uploading key", importer, fault.Internal},
		{"another key of the uploading org", importer2, fault.Internal},
		{"an admin key", admin, fault.Internal},
		{"a regulator key, no lot of its regions referencing it", regulator, fault.Forbidden},
		{"a lab of another org", lab, fault.Forbidden},
		{"a retailer of another org", retailer, fault.Forbidden},
	} {
		_, rc, err := f.l.OpenAttachment(ctx, c.p, att.SHA256)
		if c.want == fault.Internal {
			if err != nil {
				t.Errorf("%s may not read: %v", c.who, err)
				continue
			}
			rc.Close()
		} else if fault.KindOf(err) != c.want {
			t.Errorf("%s: %v, want %v", c.who, err, c.want)
		}
		if _, err := f.l.Attachment(t.Context(), c.p, att.SHA256); (err == nil) != (c.want == fault.Internal) {
			t.Errorf("Attachment for %s: %v", c.who, err)
		}
	}
	if _, _, err := f.l.OpenAttachment(ctx, admin, strings.Repeat("0", 64)); fault.KindOf(err) != fault.NotFound {
		t.Errorf("an unknown hash: %v, want NotFound", err)
	}
	if _, _, err := f.l.OpenAttachment(ctx, admin, "xyz"); fault.KindOf(err) != fault.Invalid {
		t.Errorf("a malformed hash: %v, want Invalid", err)
	}
	if _, err := f.l.AttachmentURL(ctx, importer, att.SHA256, 0); !errors.Is(err, ledger.ErrNotSupported) {
		t.Errorf("AttachmentURL on a folder: %v, want ErrNotSupported", err)
	}
	if _, err := f.l.AttachmentURL(ctx, lab, att.SHA256, 0); fault.KindOf(err) != fault.Forbidden {
		t.Errorf("AttachmentURL for a stranger: %v, want Forbidden", err)
	}
}

// TestRefusedUploadsStoreNothing: every refused upload leaves no object and
// no upload record.
func TestRefusedUploadsStoreNothing(t *testing.T) {
	f := newLedger(t, nil, 1000)
	ctx := context.Background()
	boom := errors.New("client went away")
	for _, c := range []struct {
		name  string
		ct    string
		body  io.Reader
		size  int64
		kind  fault.Kind
		field string
	}{
		{"no type", "", bytes.NewReader(pdf(100)), 100, fault.Invalid, "Content-Type"},
		{"a type not allowed", "application/zip", bytes.NewReader(pdf(100)), 100, fault.Invalid, "Content-Type"},
		{"PNG declared, PDF sent", "image/png", bytes.NewReader(pdf(100)), 100, fault.Invalid, "body"},
		{"JPEG declared, text sent", "image/jpeg", strings.NewReader("a,b\n"), 4, fault.Invalid, "body"},
		{"CSV declared, PNG sent", "text/csv", bytes.NewReader([]byte("\x89PNG\r\n\x1a\n")), 8, fault.Invalid, "body"},
		{"CSV with a NUL after the first bytes", "text/csv", io.MultiReader(strings.NewReader(strings.Repeat("a,b\n", 200)), strings.NewReader("\x00")), -1, fault.Invalid, "body"},
		{"empty", "application/pdf", strings.NewReader(""), 0, fault.Invalid, "body"},
		{"too large, size known", "application/pdf", bytes.NewReader(pdf(1001)), 1001, fault.TooLarge, ""},
		{"too large, size unknown", "application/pdf", bytes.NewReader(pdf(1001)), -1, fault.TooLarge, ""},
		{"body breaks", "application/pdf", io.MultiReader(bytes.NewReader(pdf(600)), iotest.ErrReader(boom)), -1, fault.Invalid, ""},
		{"body shorter than announced", "application/pdf", bytes.NewReader(pdf(600)), 900, fault.Invalid, "body"},
	} {
		_, err := f.l.PutAttachment(ctx, importer, c.ct, c.body, c.size)
		if fault.KindOf(err) != c.kind {
			t.Errorf("%s: %v, want %v", c.name, err, c.kind)
			continue
		}
		var le *fault.Error
		if c.field != "" && (!errors.As(err, &le) || len(le.Fields) == 0 || le.Fields[0].Field != c.field) {
			t.Errorf("%s: %v does not name field %s", c.name, err, c.field)
		}
	}
	if n := len(objects(t, f)); n != 0 {
		t.Errorf("refused uploads left %d objects", n)
	}
	err := f.store.View(t.Context(), func(tx ledger.Tx) error {
		return tx.Scan([]byte("a/att/"), nil, false, func(k, _ []byte) error {
			t.Errorf("a refused upload left the upload record %s", k)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if f.l.Size() != 0 {
		t.Errorf("uploads wrote %d log records; they must write none", f.l.Size())
	}
}

func TestNoBlobStore(t *testing.T) {
	dir := t.TempDir()
	store, err := badgerkv.Open(filepath.Join(dir, "db"), badgerkv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	_, key, _ := vlog.GenerateKey("test.example/ledger")
	l, err := ledger.New(store, key, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := l.PutAttachment(context.Background(), admin, "application/pdf", bytes.NewReader(pdf(10)), 10); fault.KindOf(err) != fault.Unavailable {
		t.Errorf("PutAttachment without a blob store: %v, want Unavailable", err)
	}
	if err := l.BlobsHealthy(context.Background()); err != nil {
		t.Errorf("BlobsHealthy without a blob store: %v, want nil (nothing to be unready about)", err)
	}
	if l.MaxAttachmentBytes() != ledger.DefaultMaxAttachmentBytes {
		t.Errorf("default limit %d", l.MaxAttachmentBytes())
	}
}

func TestCheckDocuments(t *testing.T) {
	f := newLedger(t, nil, 0)
	data := pdf(500)
	if _, err := f.l.PutAttachment(context.Background(), lab, "application/pdf", bytes.NewReader(data), -1); err != nil {
		t.Fatal(err)
	}
	known, unknown := hexSHA(data), strings.Repeat("ab", 32)
	if err := ledger.CheckDocuments(f.store, lab, ledger.Tested, []ledger.AttachmentRef{{SHA256: known, Type: ledger.DocTestReport}}); err != nil {
		t.Errorf("a reference to an uploaded attachment: %v", err)
	}
	err := ledger.CheckDocuments(f.store, lab, ledger.Tested, []ledger.AttachmentRef{{SHA256: known, Type: ledger.DocTestReport}, {SHA256: unknown, Type: ledger.DocOther}})
	var le *fault.Error
	if fault.KindOf(err) != fault.Rejected || !errors.As(err, &le) || len(le.Fields) != 1 || le.Fields[0].Field != "attachments[1].sha256" {
		t.Errorf("a reference to an unknown hash: %v, want Rejected naming attachments[1].sha256", err)
	}
}

func TestOpenDetectsAlteredObject(t *testing.T) {
	f := newLedger(t, nil, 0)
	ctx := context.Background()
	data := pdf(5000)
	att, err := f.l.PutAttachment(ctx, importer, "application/pdf", bytes.NewReader(data), -1)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(f.dir, "blobs", filepath.FromSlash(att.Object))
	altered := bytes.Clone(data)
	altered[4000] ^= 1
	if err := os.WriteFile(path, altered, 0o600); err != nil {
		t.Fatal(err)
	}
	_, rc, err := f.l.OpenAttachment(ctx, importer, att.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(rc)
	rc.Close()
	if fault.KindOf(err) != fault.Tampered {
		t.Errorf("reading altered bytes: %v, want Tampered", err)
	}
	if err := os.WriteFile(path, data[:100], 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.l.OpenAttachment(ctx, importer, att.SHA256); fault.KindOf(err) != fault.Tampered {
		t.Errorf("opening a truncated object: %v, want Tampered", err)
	}
	os.Remove(path)
	if _, _, err := f.l.OpenAttachment(ctx, importer, att.SHA256); fault.KindOf(err) != fault.Tampered {
		t.Errorf("opening a missing object: %v, want Tampered", err)
	}
}

func TestVerifyAttachments(t *testing.T) {
	f := newLedger(t, nil, 0)
	ctx := context.Background()
	var atts []*ledger.Attachment
	for i := range 3 {
		att, err := f.l.PutAttachment(ctx, importer, "application/pdf", bytes.NewReader(pdf(1000+i)), -1)
		if err != nil {
			t.Fatal(err)
		}
		atts = append(atts, att)
	}
	ghost := strings.Repeat("cd", 32)
	// Records 0 and 1 reference the first two; record 2 nothing; the third
	// upload is referenced by no record.
	for seq, refs := range [][]ledger.AttachmentRef{
		{{SHA256: atts[0].SHA256, Type: ledger.DocQuarantineCertificate}},
		{{SHA256: atts[1].SHA256, Type: ledger.DocTestReport}, {SHA256: atts[0].SHA256, Type: ledger.DocOther}},
		nil,
	} {
		if err := ledger.PutRecordForTest(f.store, int64(seq), ledger.Event{Kind: "tested", Attachments: refs}); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := ledger.VerifyAttachments(ctx, f.store, f.blobs, nil)
	if err != nil {
		t.Fatalf("VerifyAttachments of an intact store: %v (%+v)", err, rep.Problems)
	}
	if rep.Referenced != 2 || rep.Uploads != 3 || rep.Checked != 3 || rep.Bytes != 3003 {
		t.Fatalf("report = %+v", rep)
	}

	// Alter the first object, delete the second, reference a ghost.
	p0 := filepath.Join(f.dir, "blobs", filepath.FromSlash(atts[0].Object))
	b0, _ := os.ReadFile(p0)
	b0[500] ^= 0x20
	if err := os.WriteFile(p0, b0, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(f.dir, "blobs", filepath.FromSlash(atts[1].Object))); err != nil {
		t.Fatal(err)
	}
	if err := ledger.PutRecordForTest(f.store, 3, ledger.Event{Kind: "tested", Attachments: []ledger.AttachmentRef{{SHA256: ghost, Type: ledger.DocOther}}}); err != nil {
		t.Fatal(err)
	}
	rep, err = ledger.VerifyAttachments(ctx, f.store, f.blobs, nil)
	if fault.KindOf(err) != fault.Tampered {
		t.Fatalf("VerifyAttachments of a damaged store: %v, want Tampered", err)
	}
	want := map[string]struct {
		seq  int64
		word string
	}{
		atts[0].SHA256: {0, "altered"},
		atts[1].SHA256: {1, "missing"},
		ghost:          {3, "no upload record"},
	}
	if len(rep.Problems) != len(want) {
		t.Fatalf("problems = %v, want %d", rep.Problems, len(want))
	}
	for _, p := range rep.Problems {
		w, ok := want[p.SHA256]
		if !ok || p.Seq != w.seq || !strings.Contains(p.Problem, w.word) {
			t.Errorf("problem %v; want record %d and %q", p, w.seq, w.word)
		}
		if !strings.Contains(p.String(), p.SHA256) {
			t.Errorf("%q does not name the hash", p)
		}
	}
	if !strings.Contains(err.Error(), "record") {
		t.Errorf("the error does not name the record: %v", err)
	}
}

// TestObjectStoreOutage runs the ledger on a real MinIO server that goes
// away and comes back: uploads and downloads are Unavailable meanwhile,
// references to existing attachments still check out (they read only the
// ledger's store), and everything works again afterwards without a restart.
func TestObjectStoreOutage(t *testing.T) {
	m := storagetest.StartMinIO(t)
	blobs, err := s3blob.New(s3blob.Options{Endpoint: m.Endpoint, AccessKey: m.AccessKey, SecretKey: m.SecretKey, Bucket: "ledger-outage"})
	if err != nil {
		t.Fatal(err)
	}
	f := newLedger(t, blobs, 0)
	ctx := context.Background()
	data := pdf(40_000)
	att, err := f.l.PutAttachment(ctx, importer, "application/pdf", bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	ref := []ledger.AttachmentRef{{SHA256: att.SHA256, Type: ledger.DocQuarantineCertificate}}

	m.Stop(t)
	if err := f.l.BlobsHealthy(ctx); fault.KindOf(err) != fault.Unavailable {
		t.Errorf("BlobsHealthy while down: %v", err)
	}
	other := pdf(41_000)
	if _, err := f.l.PutAttachment(ctx, importer, "application/pdf", bytes.NewReader(other), -1); fault.KindOf(err) != fault.Unavailable {
		t.Errorf("PutAttachment while down: %v, want Unavailable", err)
	}
	if _, _, err := f.l.OpenAttachment(ctx, importer, att.SHA256); fault.KindOf(err) != fault.Unavailable {
		t.Errorf("OpenAttachment while down: %v, want Unavailable", err)
	}
	if err := ledger.CheckDocuments(f.store, importer, ledger.Declared, ref); err != nil {
		t.Errorf("a reference to an existing attachment while the store is down: %v", err)
	}
	if _, err := f.l.Attachment(t.Context(), importer, hexSHA(other)); fault.KindOf(err) != fault.NotFound {
		t.Errorf("the upload that failed during the outage was recorded: %v", err)
	}

	m.Start(t)
	if err := f.l.BlobsHealthy(ctx); err != nil {
		t.Fatalf("BlobsHealthy after the store came back: %v", err)
	}
	if got := read(t, f, importer, att.SHA256); !bytes.Equal(got, data) {
		t.Fatal("bytes differ after the outage")
	}
	if _, err := f.l.PutAttachment(ctx, importer, "application/pdf", bytes.NewReader(other), -1); err != nil {
		t.Fatalf("PutAttachment after the outage: %v", err)
	}
	if rep, err := ledger.VerifyAttachments(ctx, f.store, blobs, nil); err != nil || rep.Checked != 2 {
		t.Fatalf("VerifyAttachments after the outage: %+v, %v", rep, err)
	}
}
