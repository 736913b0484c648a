package api_test

import (
	"fmt"
	"strings"
	"testing"

	"coldtrace/fixtures"
	"coldtrace/ledger"
)

// TestListsCappedAndRepeats: every list of a request has a cap, refused
// naming the list, and a rule for repeats: refused naming the repeated
// entry where a repeat is a mistake (roles, scope, containers, input lots,
// shares, people, attachments, the policy's parts), dropped where repeats
// carry no meaning (a key's regions, a webhook's rules and regions). The
// refusals name the field in English and Chinese and record nothing.
func TestListsCappedAndRepeats(t *testing.T) {
	w := newWorld(t)
	admin, imp, lab := w.h.admin, w.keys[ledger.RoleImporter], w.keys[ledger.RoleLab]
	code := w.lotHeldBy(ledger.RoleLab)
	size := w.h.l.Size()
	times := func(n int, v any) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = v
		}
		return out
	}
	refused := func(what string, r *response, field string) {
		t.Helper()
		msg, zh := fieldProblem(t, r, 400, field)
		if !strings.Contains(msg, "repeats entry") && !strings.Contains(msg, "lists at most") {
			t.Errorf("%s: %q / %q", what, msg, zh)
		}
	}

	// Registry: an org's roles.
	org := func(roles ...any) map[string]any {
		return map[string]any{"uscc": fixtures.USCC("330106", 7), "name": "名单公司", "roles": roles, "region": "330106"}
	}
	refused("repeated role", admin.do("POST", "/v1/orgs", org("importer", "carrier", "importer")), "roles[2]")
	refused("13 roles", admin.do("POST", "/v1/orgs", org(times(13, "carrier")...)), "roles")

	// Declarations: containers.
	decl := declaredEvent()
	decl["containers"] = []map[string]any{{"number": "MSKU9070323"}, {"number": "TGHU1234567"}, {"number": "MSKU9070323"}}
	refused("repeated container", imp.do("POST", "/v1/events", decl), "containers[2].number")
	decl["containers"] = times(201, map[string]any{"number": "MSKU9070323"})
	refused("201 containers", imp.do("POST", "/v1/events", decl), "containers")

	// Transformations: input lots, outputs, shares.
	product := map[string]any{"name": "牛肉丸", "hs_code": "1602501000", "category": "frozen"}
	out := map[string]any{"product": product, "quantity": map[string]any{"grams": 100}}
	in := map[string]any{"lot": code, "quantity": map[string]any{"grams": 100}}
	transform := func(inputs, outputs []any) map[string]any {
		return map[string]any{"kind": "transformed", "site": "S-processor", "inputs": inputs, "outputs": outputs}
	}
	proc := w.keys[ledger.RoleProcessor]
	refused("repeated input lot", proc.do("POST", "/v1/events", transform([]any{in, in}, []any{out})), "inputs[1].lot")
	refused("101 inputs", proc.do("POST", "/v1/events", transform(times(101, in), []any{out})), "inputs")
	refused("101 outputs", proc.do("POST", "/v1/events", transform([]any{in}, times(101, out))), "outputs")
	shared := map[string]any{"product": product, "quantity": map[string]any{"grams": 100},
		"shares": []map[string]any{{"input": 0, "grams": 10}, {"input": 0, "grams": 10}}}
	refused("repeated share", proc.do("POST", "/v1/events", transform([]any{in}, []any{shared})), "outputs[0].shares[1].input")

	// Tests: scope, people, attachments.
	test := func(extra map[string]any) map[string]any {
		ev := map[string]any{"kind": "tested", "lot": code, "samples": 1, "scope": []string{"goods"}, "result": "negative"}
		for k, v := range extra {
			ev[k] = v
		}
		return ev
	}
	refused("repeated scope", lab.do("POST", "/v1/events", test(map[string]any{"scope": []string{"goods", "vehicle", "goods"}})), "scope[2]")
	refused("5 scopes", lab.do("POST", "/v1/events", test(map[string]any{"scope": times(5, "goods")})), "scope")
	person := map[string]string{"role": "sampler", "name": "王五"}
	refused("repeated person", lab.do("POST", "/v1/events", test(map[string]any{"people": []any{person, person}})), "people[1]")
	refused("201 people", lab.do("POST", "/v1/events", test(map[string]any{"people": times(201, person)})), "people")
	att := w.ref(ledger.DocTemperatureLog)[0]
	refused("repeated attachment", lab.do("POST", "/v1/events", test(map[string]any{"attachments": []any{att, att}})), "attachments[1]")
	refused("65 attachments", lab.do("POST", "/v1/events", test(map[string]any{"attachments": times(65, att)})), "attachments")

	// The policy: its sampling table and the parts of cleared.
	pol := ledger.DefaultPolicy()
	pol.Samples = nil
	for i := 1; i <= 51; i++ {
		pol.Samples = append(pol.Samples, ledger.SampleStep{UpToKg: int64(i), Samples: 1})
	}
	refused("51 sampling steps", admin.do("PUT", "/v1/policy", pol), "policy.samples")
	pol.Samples = []ledger.SampleStep{{UpToKg: 1000, Samples: 1}}
	pol.ClearedParts = map[string][]string{"frozen": {"test", "test"}}
	refused("repeated part", admin.do("PUT", "/v1/policy", pol), "policy.cleared_parts.frozen[1]")

	if w.h.l.Size() != size {
		t.Fatalf("refused lists were recorded: size %d -> %d", size, w.h.l.Size())
	}

	// Deduplicated: a webhook's rules and regions, a key's regions.
	reg := w.keys[ledger.RoleRegulator]
	var hook struct{ Rules, Regions []string }
	reg.do("POST", "/v1/webhooks", map[string]any{"url": "http://127.0.0.1:9/hook",
		"rules": []string{"positive_test", "positive_test", "contact"}, "regions": times(500, "33")}).want(201).JSON(&hook)
	if fmt.Sprint(hook.Rules) != "[positive_test contact]" || fmt.Sprint(hook.Regions) != "[33]" {
		t.Errorf("webhook lists stored as %v %v", hook.Rules, hook.Regions)
	}
	var many []string
	for i := 0; i < 101; i++ {
		many = append(many, fmt.Sprintf("33%02d", i%100), "33")
	}
	refused("101 distinct regions", reg.do("POST", "/v1/webhooks", map[string]any{"url": "http://127.0.0.1:9/hook", "regions": append(many, "3301")}), "regions")
	refused("1,001 regions", reg.do("POST", "/v1/webhooks", map[string]any{"url": "http://127.0.0.1:9/hook", "regions": times(1001, "33")}), "regions")
}
