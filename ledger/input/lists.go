package input

import (
	"strconv"

	"coldtrace/ledger/fault"
)

// Every list a request carries has a cap and a rule for repeated entries
// (docs/decisions.md, "Lists in requests"). Where order and repeats carry no
// meaning (a key's regions, a webhook's rules and regions) the list is
// deduplicated with Dedupe, keeping the first of each entry; where a repeat
// is a mistake (a container, an input lot or an attachment named twice) it
// is refused with List, naming the entry. The caps are the ledger's
// (ledger/lists.go).

// tooLong is the field message of a list over its cap.
func tooLong(max int) string { return "lists at most " + strconv.Itoa(max) + " entries" }

// List refuses a list of more than max entries, naming field, and every
// entry whose key repeats an earlier entry's, naming field[i] (and sub,
// when set: field[i].sub); entries whose key is "" are not compared (their
// own check says they are missing). key nil allows repeats. It reports
// whether the list is within its cap, so that callers skip checking the
// entries of a list refused whole.
func List[T any](fe *fault.Fields, field string, list []T, max int, sub string, key func(T) string) bool {
	if len(list) > max {
		fe.Add(field, "%s", tooLong(max))
		return false
	}
	if key == nil {
		return true
	}
	seen := make(map[string]int, len(list))
	for i, v := range list {
		k := key(v)
		if k == "" {
			continue
		}
		if first, ok := seen[k]; ok {
			f := indexField(field, i)
			if sub != "" {
				f += "." + sub
			}
			fe.Add(f, "repeats entry %d (%s)", first, k)
			continue
		}
		seen[k] = i
	}
	return true
}

// Dedupe drops repeated entries of a list whose order and repeats carry no
// meaning, keeping the first of each, and refuses (Invalid, naming field) a
// list of more than max distinct entries, or of more than 10×max entries
// before deduplication (nobody sends that many by mistake).
func Dedupe[T comparable](field string, list []T, max int) ([]T, error) {
	if len(list) > 10*max {
		return nil, fault.InvalidField(field, "%s", tooLong(max))
	}
	seen := make(map[T]bool, len(list))
	out := list[:0:0]
	for _, v := range list {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	if len(out) > max {
		return nil, fault.InvalidField(field, "%s", tooLong(max))
	}
	return out, nil
}

// indexField names entry i of the list field: field[i].
func indexField(name string, i int) string { return name + "[" + strconv.Itoa(i) + "]" }
