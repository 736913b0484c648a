package ledger

import (
	"coldtrace/ledger/fault"
	"fmt"
	"strings"
	"unicode"
)

// Deceptive text and look-alike identifiers.
//
// Names and free text are shown to regulators and, on the consumer page, to
// shoppers: characters that change the direction of the text around them
// (bidi controls), that cannot be seen (zero-width and other format
// characters) or that are C1 controls let a name look like another one, so
// they are refused. Identifiers that differ only in case or trailing
// punctuation name the same thing to a person: registering the second is a
// conflict.

// invisibleRune returns the first character of s that is a bidi control, an
// invisible or format character or a C0/C1 control, and whether there is
// one.
func invisibleRune(s string) (rune, bool) {
	for _, r := range s {
		switch {
		case r < 0x20 || r == 0x7f, r >= 0x80 && r <= 0x9f: // C0, DEL, C1
			return r, true
		case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069: // bidi
			return r, true
		case r == 0x00ad, r == 0x034f, r == 0x115f, r == 0x1160, r == 0x17b4, r == 0x17b5, r == 0x180e,
			r >= 0x200b && r <= 0x200d, r == 0x2060, r >= 0x2061 && r <= 0x2064, r == 0x3164, r == 0xfeff, r == 0xffa0,
			r >= 0xfe00 && r <= 0xfe0f, r >= 0xfff0 && r <= 0xfffb, r >= 0xe0000 && r <= 0xe0fff: // invisible
			return r, true
		case unicode.Is(unicode.Cf, r), unicode.Is(unicode.Co, r), unicode.Is(unicode.Cs, r):
			return r, true
		}
	}
	return 0, false
}

// checkVisible adds a field error when s holds a character invisibleRune
// finds; it reports whether s is clean.
func checkVisible(fe *fault.Fields, field, s string) bool {
	r, bad := invisibleRune(s)
	if !bad {
		return true
	}
	if r < 0x20 || r == 0x7f {
		fe.Add(field, "contains control characters")
	} else {
		fe.Add(field, "contains an invisible or direction-changing character (%s)", fmt.Sprintf("U+%04X", r))
	}
	return false
}

// foldID is an identifier as a person reads it: case folded and trailing
// punctuation dropped, so that "S-01", "s-01" and "S-01." are one id.
func foldID(id string) string {
	return strings.ToLower(strings.TrimRight(id, ".-_ "))
}

// siteLookalike returns the id of a registered site that reads like id (the
// same after foldID) but is not it, or "".
func siteLookalike(st *state, id string) (string, error) {
	want := foldID(id)
	prefix := tabSite.all()
	var found string
	err := st.tx.Scan(prefix, nil, false, func(k, _ []byte) error {
		other := string(k[len(prefix):])
		if other != id && foldID(other) == want {
			found = other
			return fault.ErrStop
		}
		return nil
	})
	return found, err
}

// errMissingSummary is the cause, logged and never shown, of a missing
// batch summary: its storage key.
func errMissingSummary(k []byte) error { return fmt.Errorf("no rsum key %x", k) }
