package vlog

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"coldtrace/ledger/fault"
)

// A Checkpoint is the body of a C2SP tlog-checkpoint: the log's origin, the
// tree size and the root hash. Signed, it is the log's public commitment.
type Checkpoint struct {
	Origin string
	Size   int64
	Root   tlog.Hash
}

// Text returns the checkpoint body in the C2SP format: origin, decimal size
// and base64 root, each on its own line.
func (c Checkpoint) Text() string {
	return fmt.Sprintf("%s\n%d\n%s\n", c.Origin, c.Size, base64.StdEncoding.EncodeToString(c.Root[:]))
}

// ParseCheckpoint parses a checkpoint body (the text of a signed note).
// Extension lines after the root are allowed and ignored.
func ParseCheckpoint(text string) (Checkpoint, error) {
	var c Checkpoint
	if !strings.HasSuffix(text, "\n") {
		return c, errors.New("checkpoint: missing final newline")
	}
	lines := strings.SplitN(text, "\n", 4)
	if len(lines) < 4 {
		return c, errors.New("checkpoint: want origin, size and root lines")
	}
	if lines[0] == "" {
		return c, errors.New("checkpoint: empty origin")
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		return c, fmt.Errorf("checkpoint: bad size %q", lines[1])
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		return c, fmt.Errorf("checkpoint: bad root %q", lines[2])
	}
	c.Origin, c.Size = lines[0], size
	copy(c.Root[:], root)
	return c, nil
}

// A Key is the log's note signing key with its verifier. Its name is the
// log's origin. It is the signer ledger.New takes.
type Key struct {
	note.Signer
	Verifier note.Verifier
	vkey     string
}

// VerifierKey returns the verifier key text, as note.NewVerifier takes it.
func (k *Key) VerifierKey() string { return k.vkey }

// GenerateKey returns a new note signing key text named name (the log's
// origin) and its Key.
func GenerateKey(name string) (string, *Key, error) {
	skey, _, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		return "", nil, err
	}
	k, err := ParseKey(skey)
	return skey, k, err
}

// ParseKey returns the Key of a note signing key text.
func ParseKey(skey string) (*Key, error) {
	signer, err := note.NewSigner(skey)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	vkey, err := verifierKey(skey)
	if err != nil {
		return nil, err
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, err
	}
	return &Key{Signer: signer, Verifier: verifier, vkey: vkey}, nil
}

// verifierKey derives the verifier key text from a note signing key
// ("PRIVATE+KEY+name+hash+ed25519 seed").
func verifierKey(skey string) (string, error) {
	parts := strings.SplitN(skey, "+", 5)
	if len(parts) != 5 || parts[0] != "PRIVATE" || parts[1] != "KEY" {
		return "", errors.New("malformed signing key")
	}
	raw, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(raw) != 33 || raw[0] != 1 {
		return "", errors.New("signing key is not an Ed25519 note key")
	}
	return note.NewEd25519VerifierKey(parts[2], ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey))
}

// Sign returns the signed note of c.
func Sign(signer note.Signer, c Checkpoint) ([]byte, error) {
	return note.Sign(&note.Note{Text: c.Text()}, signer)
}

// OpenCheckpoint verifies a signed checkpoint note with v and parses it.
func OpenCheckpoint(msg []byte, v note.Verifier) (Checkpoint, error) {
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return Checkpoint{}, fault.Wrap(fault.Tampered, "checkpoint signature does not verify", err)
	}
	c, err := ParseCheckpoint(n.Text)
	if err != nil {
		return Checkpoint{}, fault.Wrap(fault.Tampered, "checkpoint does not parse", err)
	}
	if c.Origin != v.Name() {
		return Checkpoint{}, fault.Errorf(fault.Tampered, "checkpoint origin %q is not the key's name %q", c.Origin, v.Name())
	}
	return c, nil
}
