package api

import (
	"bytes"
	"encoding/json"
	"strconv"

	"coldtrace/ledger/fault"
)

// checkDuplicateKeys refuses JSON in which an object names a member twice:
// encoding/json keeps the last, and a proxy or an auditor reading the first
// would see another request than the ledger records. The error names the
// member by its path (quantity.grams, containers[1].number). Malformed JSON
// passes: decoding reports it.
//
// Most bodies are answered by a quick scan of the bytes that allocates
// nothing; a body it finds a member twice in, or does not read to its end
// as one well-formed value of ASCII keys without escapes, is read again by
// the token reader, whose answer is the one given (see quickNoDuplicates).
func checkDuplicateKeys(data []byte) error {
	if quickNoDuplicates(data) {
		return nil
	}
	return checkDuplicateKeysByToken(data)
}

// Bounds of the quick scan: deeper bodies, and bodies whose open objects
// hold more keys together, go to the token reader (the scan compares a key
// with each key of its object).
const (
	quickMaxDepth = 64
	quickMaxKeys  = 64
)

// quickNoDuplicates reports whether data is one JSON value, as far as a
// scan of its structure tells, in which no object names a member twice. It
// is exact on well-formed JSON and lax on malformed JSON (a literal is
// anything up to the next delimiter, a string anything up to its closing
// quote): the token reader stops at the first syntax error, and every key
// it reads before that, the scan has read in the same object, so true here
// means the token reader finds no member twice either.
func quickNoDuplicates(data []byte) bool {
	s := dupScanner{data: data}
	s.space()
	if !s.value(0) {
		return false
	}
	s.space()
	return s.i == len(s.data)
}

// A dupScanner scans JSON for quickNoDuplicates.
type dupScanner struct {
	data []byte
	i    int
	keys [quickMaxKeys][]byte // the keys of the open objects, innermost last
	n    int                  // how many of keys are in use
}

func (s *dupScanner) peek() byte {
	if s.i < len(s.data) {
		return s.data[s.i]
	}
	return 0
}

func (s *dupScanner) space() {
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *dupScanner) value(depth int) bool {
	switch s.peek() {
	case '{':
		return depth < quickMaxDepth && s.object(depth+1)
	case '[':
		return depth < quickMaxDepth && s.array(depth+1)
	case '"':
		return s.str()
	}
	return s.literal()
}

func (s *dupScanner) object(depth int) bool {
	s.i++ // {
	start := s.n
	s.space()
	if s.peek() == '}' {
		s.i++
		return true
	}
	for {
		k, ok := s.key()
		if !ok || s.n == quickMaxKeys {
			return false
		}
		for _, seen := range s.keys[start:s.n] {
			if bytes.Equal(seen, k) {
				return false
			}
		}
		s.keys[s.n] = k
		s.n++
		s.space()
		if s.peek() != ':' {
			return false
		}
		s.i++
		s.space()
		if !s.value(depth) {
			return false
		}
		more, ok := s.next('}')
		if !ok || !more {
			s.n = start
			return ok
		}
	}
}

func (s *dupScanner) array(depth int) bool {
	s.i++ // [
	s.space()
	if s.peek() == ']' {
		s.i++
		return true
	}
	for {
		if !s.value(depth) {
			return false
		}
		if more, ok := s.next(']'); !ok || !more {
			return ok
		}
	}
}

// next reads what follows a member or an element: a comma (more), or the
// container's end byte (not more); anything else is not ok.
func (s *dupScanner) next(end byte) (more, ok bool) {
	s.space()
	switch s.peek() {
	case ',':
		s.i++
		s.space()
		return true, true
	case end:
		s.i++
		return false, true
	}
	return false, false
}

// key reads a member name made of printable ASCII without escapes, the
// only names whose bytes are what encoding/json compares.
func (s *dupScanner) key() ([]byte, bool) {
	if s.peek() != '"' {
		return nil, false
	}
	start := s.i + 1
	for i := start; i < len(s.data); i++ {
		switch c := s.data[i]; {
		case c == '"':
			s.i = i + 1
			return s.data[start:i], true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return nil, false
		}
	}
	return nil, false
}

func (s *dupScanner) str() bool {
	for i := s.i + 1; i < len(s.data); i++ {
		switch s.data[i] {
		case '\\':
			i++
		case '"':
			s.i = i + 1
			return true
		}
	}
	return false
}

// literal reads a number, true, false or null: anything up to the next
// delimiter.
func (s *dupScanner) literal() bool {
	start := s.i
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return s.i > start
		}
		s.i++
	}
	return s.i > start
}

// checkDuplicateKeysByToken is checkDuplicateKeys read token by token with
// encoding/json: the answer for every body the quick scan leaves to it.
func checkDuplicateKeysByToken(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	type frame struct {
		keys   map[string]bool // nil for an array
		path   string
		index  int
		expect bool // an object expects a key next
	}
	var stack []*frame
	child := func() string {
		if len(stack) == 0 {
			return ""
		}
		return stack[len(stack)-1].path
	}
	var pending string // path of the value that comes next
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.keys != nil && top.expect {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
				continue
			}
			k, _ := tok.(string)
			p := k
			if top.path != "" {
				p = top.path + "." + k
			}
			if top.keys[k] {
				return &fault.Error{Kind: fault.Invalid, Msg: "a field appears twice",
					Fields: []fault.FieldError{{Field: p, Message: "appears more than once; send each field once"}}}
			}
			top.keys[k] = true
			top.expect = false
			pending = p
			continue
		}
		if top != nil && top.keys == nil {
			if d, ok := tok.(json.Delim); ok && d == ']' {
				stack = stack[:len(stack)-1]
				continue
			}
			pending = top.path + "[" + strconv.Itoa(top.index) + "]"
			top.index++
		}
		if top != nil && top.keys != nil {
			top.expect = true // after this value, a key or the end
		}
		if top == nil {
			pending = child()
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{':
				stack = append(stack, &frame{keys: map[string]bool{}, path: pending, expect: true})
			case '[':
				stack = append(stack, &frame{path: pending})
			}
		}
	}
}
