package ledger

// The caps of the lists a request carries. Where order and repeats carry no
// meaning (a key's regions, a webhook's rules and regions) the list is
// deduplicated with input.Dedupe; where a repeat is a mistake (a container,
// an input lot or an attachment named twice) it is refused with
// input.List, naming the entry (docs/decisions.md, "Lists in requests").
// Outputs of a transformation may repeat: two equal outputs are two lots.
const (
	MaxRegions     = 100 // a key's or a webhook's regions
	maxContainers  = 200 // containers of a declaration
	maxInputs      = 100 // input lots of a transformation
	maxOutputs     = 100 // products of a transformation
	maxPeople      = 200 // people of an event
	maxSampleSteps = 50  // steps of the policy's sampling table
)
