package ledger

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
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

// TreeHead returns the size and base64 root of c.
func (c Checkpoint) TreeHead() TreeHead {
	return TreeHead{Size: c.Size, Root: base64.StdEncoding.EncodeToString(c.Root[:])}
}

// A LogKey is the log's note signing key with its verifier. Its name is the
// log's origin.
type LogKey struct {
	Signer      note.Signer
	Verifier    note.Verifier
	VerifierKey string // the verifier key text, as note.NewVerifier takes it
}

// LoadOrCreateKey reads the note signing key at path, creating it with mode
// 0600 (named name, which becomes the log's origin) when the file does not
// exist.
func LoadOrCreateKey(path, name string) (*LogKey, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		skey, _, gerr := note.GenerateKey(rand.Reader, name)
		if gerr != nil {
			return nil, gerr
		}
		if err := writeNewFile(path, []byte(skey+"\n"), 0o600); err != nil {
			return nil, err
		}
		data = []byte(skey)
	} else if err != nil {
		return nil, err
	}
	return ParseKey(string(bytes.TrimSpace(data)))
}

// ParseKey returns the LogKey of a note signing key text.
func ParseKey(skey string) (*LogKey, error) {
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
	return &LogKey{Signer: signer, Verifier: verifier, VerifierKey: vkey}, nil
}

// ReadVerifierKey returns the verifier key of the signing key file at path.
func ReadVerifierKey(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	k, err := ParseKey(string(bytes.TrimSpace(data)))
	if err != nil {
		return "", err
	}
	return k.VerifierKey, nil
}

// writeNewFile creates path with data and mode perm, synced; it fails if the
// file exists.
func writeNewFile(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
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

// signCheckpoint returns the signed note of c.
func signCheckpoint(signer note.Signer, c Checkpoint) ([]byte, error) {
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
