package vlog

import (
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"coldtrace/ledger/fault"
)

func TestCheckpointRoundTrip(t *testing.T) {
	c := Checkpoint{Origin: "example.com/log", Size: 42, Root: tlog.RecordHash([]byte("x"))}
	got, err := ParseCheckpoint(c.Text())
	if err != nil {
		t.Fatal(err)
	}
	if got != c {
		t.Fatalf("round trip: got %+v, want %+v", got, c)
	}
}

func TestParseCheckpointRejects(t *testing.T) {
	for _, text := range []string{
		"",
		"origin\n1\n",
		"origin\n1\nAAAA\n", // short root
		"origin\n-1\n" + strings.Repeat("A", 43) + "=\n", // negative size
		"origin\n01\n" + strings.Repeat("A", 43) + "=\n", // non-canonical size
		"\n1\n" + strings.Repeat("A", 43) + "=\n",        // empty origin
		"origin\n1\n" + strings.Repeat("A", 43) + "=",    // no final newline
	} {
		if _, err := ParseCheckpoint(text); err == nil {
			t.Errorf("ParseCheckpoint(%q) succeeded", text)
		}
	}
	// Extension lines are allowed.
	if _, err := ParseCheckpoint("o\n1\n" + strings.Repeat("A", 43) + "=\nextra line\n"); err != nil {
		t.Errorf("extension line: %v", err)
	}
}

func FuzzParseCheckpoint(f *testing.F) {
	f.Add(Checkpoint{Origin: "o", Size: 3}.Text())
	f.Add("origin\n1\n\n")
	f.Fuzz(func(t *testing.T, text string) {
		c, err := ParseCheckpoint(text)
		if err != nil {
			return
		}
		// What parses must print back to the same first three lines.
		again, err := ParseCheckpoint(c.Text())
		if err != nil || again != c {
			t.Fatalf("reparse of %q: %+v, %v", c.Text(), again, err)
		}
	})
}

// TestSignedCheckpoint checks that a checkpoint signed with a key opens
// with the stock note package and the verifier key, and not with another
// key of the same name. (The key file is tested in cmd/coldtrace.)
func TestSignedCheckpoint(t *testing.T) {
	_, k1, err := GenerateKey("example.com/log")
	if err != nil {
		t.Fatal(err)
	}
	vk := k1.VerifierKey()
	c := Checkpoint{Origin: "example.com/log", Size: 1, Root: tlog.RecordHash([]byte("r"))}
	msg, err := Sign(k1.Signer, c)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vk)
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil || n.Text != c.Text() {
		t.Fatalf("note.Open: %v", err)
	}
	_, other, err := GenerateKey("example.com/log")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenCheckpoint(msg, other.Verifier); fault.KindOf(err) != fault.Tampered {
		t.Fatalf("opening with another key of the same name: %v, want Tampered", err)
	}
}
