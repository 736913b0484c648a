package ledger

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"

	"coldtrace/ledger/fault"
	"coldtrace/ledger/vlog"
)

// An AttachmentProblem is one attachment that VerifyAttachments found wrong.
type AttachmentProblem struct {
	SHA256 string
	// Seq is the first record that references the attachment, -1 when no
	// record does (an upload nobody has referenced yet).
	Seq     int64
	Problem string
}

func (p AttachmentProblem) String() string {
	by := "referenced by no record"
	if p.Seq >= 0 {
		by = fmt.Sprintf("referenced by record %d", p.Seq)
	}
	return fmt.Sprintf("attachment %s (%s): %s", p.SHA256, by, p.Problem)
}

// An AttachmentReport says what VerifyAttachments checked and found.
type AttachmentReport struct {
	Referenced int64 // distinct attachments referenced by records
	Uploads    int64 // upload records
	Checked    int64 // objects read back and re-hashed
	Bytes      int64 // bytes re-hashed
	Problems   []AttachmentProblem
}

// VerifyAttachments checks the attachments of a ledger's store against its
// blob store, offline: every attachment that a record references must have
// an upload record, and every upload record's object must be in the blob
// store with the recorded size and SHA-256 (the bytes are read back and
// re-hashed). Uploads that no record references yet are checked too: they
// may be referenced at any time.
//
// It reports every problem it finds, each naming the SHA-256 and the first
// record that references it, and then returns a Tampered *Error. It stops
// early only when it cannot go on: an unreadable record, an unreachable blob
// store (Unavailable) or a cancelled ctx.
func VerifyAttachments(ctx context.Context, store Store, blobs Blobs, progress Progress) (*AttachmentReport, error) {
	if progress == nil {
		progress = func(string, int64, int64) {}
	}
	rep := &AttachmentReport{}
	firstRef := map[string]int64{}
	seqOf := func(sha string) int64 {
		if s, ok := firstRef[sha]; ok {
			return s
		}
		return -1
	}
	var uploads []*Attachment
	recorded := map[string]bool{} // upload records, damaged or not
	err := store.View(ctx, func(tx Tx) error {
		if err := vlog.ScanRecords(tx, 0, func(seq int64, v []byte) error {
			if !bytes.Contains(v, []byte(`"attachments":`)) {
				return nil
			}
			rec, err := DecodeRecord(v)
			if err != nil {
				return badRecord(seq, "%v", err)
			}
			for _, r := range rec.Attachments {
				if _, ok := firstRef[r.SHA256]; !ok {
					firstRef[r.SHA256] = rec.Seq
				}
			}
			return nil
		}); err != nil {
			return err
		}
		return tx.Scan(prefixAttachment, nil, false, func(k, v []byte) error {
			sha := string(k[len(prefixAttachment):])
			recorded[sha] = true
			var a Attachment
			if err := json.Unmarshal(v, &a); err != nil || a.SHA256 != sha {
				rep.Problems = append(rep.Problems, AttachmentProblem{SHA256: sha, Seq: seqOf(sha), Problem: "its upload record is damaged"})
				return nil
			}
			uploads = append(uploads, &a)
			return nil
		})
	})
	if err != nil {
		return rep, err
	}
	rep.Referenced, rep.Uploads = int64(len(firstRef)), int64(len(uploads))
	for _, sha := range slices.Sorted(maps.Keys(firstRef)) {
		if seq := firstRef[sha]; !recorded[sha] {
			rep.Problems = append(rep.Problems, AttachmentProblem{SHA256: sha, Seq: seq, Problem: "no upload record: these bytes were never uploaded"})
		}
	}
	// Referenced attachments first, in record order.
	slices.SortFunc(uploads, func(a, b *Attachment) int {
		sa, sb := seqOf(a.SHA256), seqOf(b.SHA256)
		if (sa < 0) != (sb < 0) {
			return cmp.Compare(sb, sa)
		}
		return cmp.Or(cmp.Compare(sa, sb), cmp.Compare(a.SHA256, b.SHA256))
	})
	if len(uploads) > 0 && blobs == nil {
		return rep, fault.Errorf(fault.Unavailable, "%d attachments are recorded but no blob store was given to check them", len(uploads))
	}
	for i, a := range uploads {
		progress("attachments", int64(i), int64(len(uploads)))
		problem, err := checkObject(ctx, blobs, a, rep)
		if err != nil {
			return rep, err
		}
		if problem != "" {
			rep.Problems = append(rep.Problems, AttachmentProblem{SHA256: a.SHA256, Seq: seqOf(a.SHA256), Problem: problem})
		}
	}
	progress("attachments", int64(len(uploads)), int64(len(uploads)))
	if len(rep.Problems) > 0 {
		return rep, fault.Errorf(fault.Tampered, "%d attachment problem(s); the first: %s", len(rep.Problems), rep.Problems[0])
	}
	return rep, nil
}

// checkObject reads a's object back and re-hashes it. It returns what is
// wrong with it ("" when nothing), or an error when it cannot tell.
func checkObject(ctx context.Context, blobs Blobs, a *Attachment, rep *AttachmentReport) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	rc, _, err := blobs.Get(ctx, a.Object)
	if fault.KindOf(err) == fault.NotFound {
		return fmt.Sprintf("its object %s is missing from the blob store", a.Object), nil
	}
	if err != nil {
		return "", unavailable(err)
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", unavailable(err)
	}
	rep.Checked++
	rep.Bytes += n
	if got := hex.EncodeToString(h.Sum(nil)); got != a.SHA256 || n != a.Size {
		return fmt.Sprintf("its object %s was altered: %d bytes hashing to %s, %d bytes were uploaded", a.Object, n, got, a.Size), nil
	}
	return "", nil
}
