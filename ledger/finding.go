package ledger

import (
	"fmt"
	"time"

	"coldtrace/ledger/fault"
)

// Finding rules: the policy the ledger judges. A record that breaks one is
// kept, and a finding is opened for the regulator.
const (
	RuleFourNo               = "four_no"                // 四不: sold or moved to market without the four papers
	RuleSealedMoved          = "sealed_moved"           // a sealed lot was moved, sold or processed
	RuleTransitOverdue       = "transit_overdue"        // a shipment was not received in time
	RuleShortReceipt         = "short_receipt"          // less was received than shipped
	RuleTemperatureExcursion = "temperature_excursion"  // kept warmer than the product allows
	RulePositiveTest         = "positive_test"          // a lot tested positive
	RuleSitePositive         = "site_positive"          // a lot was at a site whose environment or workers tested positive
	RuleUntestedAfterArrival = "untested_after_arrival" // cold-chain goods left a new site without the test it requires
)

// RuleText explains each rule in plain words (Chinese and English).
var RuleText = map[string][2]string{
	RuleFourNo:               {"“四不”：缺少检验检疫证明、核酸检测阴性报告、消毒证明或出仓证明即上市、出仓或销售", "sold, released to market or moved out of the supervision warehouse without quarantine certificate, negative test, disinfection and release"},
	RuleSealedMoved:          {"已封存的货物被移动、销售或加工", "a sealed lot was shipped, sold, consumed or processed"},
	RuleTransitOverdue:       {"运输超时未签收", "a shipment was not received within its deadline"},
	RuleShortReceipt:         {"签收数量少于发货数量", "less was received than was shipped"},
	RuleTemperatureExcursion: {"温度超出产品储存要求", "the goods were kept warmer than the product allows"},
	RulePositiveTest:         {"核酸检测阳性", "the lot tested positive for nucleic acid"},
	RuleSitePositive:         {"货物所在场所环境或从业人员核酸检测阳性", "the lot was at a site whose environment or workers tested positive"},
	RuleUntestedAfterArrival: {"冷链货物到达新场所后未经核酸检测即流出", "cold-chain goods left a new site without the test required on arrival"},
	RuleLateReport:           {"阳性结果或封存未在规定时限内（2小时）上报", "a positive result or a seal was recorded later than the reporting limit (2 hours)"},
	RuleLeftLedger:           {"批发或加工销售给未在平台登记的单位，货物脱离追溯链", "goods were sold wholesale or for processing to a business not on the ledger and left the traced chain"},
	RuleVoidedRecord:         {"监管部门作废了一条较早的记录，其后的出库、销售或加工记录需复核", "a regulator voided an earlier record; the shipments, sales or processing recorded while it counted need review"},
}

// A Finding is a policy violation the ledger judged while recording an event:
// the record is kept and the finding stays open until a regulator closes it.
type Finding struct {
	ID           string     `json:"id"`
	Rule         string     `json:"rule"`
	Lot          string     `json:"lot,omitempty"`
	TraceCode    string     `json:"trace_code,omitempty"`
	Site         string     `json:"site,omitempty"`
	Region       string     `json:"region,omitempty"`
	Org          string     `json:"org,omitempty"` // who held the lot
	Seq          int64      `json:"seq"`
	Open         bool       `json:"open"`
	OpenedAt     time.Time  `json:"opened_at"`
	Detail       string     `json:"detail"`
	ClosedSeq    int64      `json:"closed_seq,omitempty"`
	ClosedAt     *time.Time `json:"closed_at,omitempty"`
	ClosedReason string     `json:"closed_reason,omitempty"`
	// Lots are the lots a finding about several names (positive_batch).
	Lots []FindingLot `json:"lots,omitempty"`
	// Acknowledged: a regulator of the finding's region took it on.
	AckSeq int64      `json:"ack_seq,omitempty"`
	AckAt  *time.Time `json:"ack_at,omitempty"`
	AckBy  string     `json:"ack_by,omitempty"` // the region in whose name
	// PeopleEvents are the records whose people a people_to_test finding
	// asks to test; People are their pseudonyms, filled when the finding is
	// read or told and never stored (people_findings.go).
	PeopleEvents []int64        `json:"people_events,omitempty"`
	People       []RecallPerson `json:"people,omitempty"`
	// Overdue: the findings_overdue record that found it unacknowledged
	// past its acknowledgement deadline (sweep.go).
	OverdueSeq int64      `json:"overdue_seq,omitempty"`
	OverdueAt  *time.Time `json:"overdue_at,omitempty"`
	// Assigned: the sub-region a regulator handed it to (worklist.go).
	AssignedTo  string     `json:"assigned_to,omitempty"`
	AssignedSeq int64      `json:"assigned_seq,omitempty"`
	AssignedAt  *time.Time `json:"assigned_at,omitempty"`
	// Evidence is what the closing record cites of type evidence.
	Evidence []AttachmentRef `json:"evidence,omitempty"`
	// Notices are the rectification notices issued about it (worklist.go).
	Notices []FindingNotice `json:"notices,omitempty"`
}

func findingID(seq int64, n int) string { return fmt.Sprintf("%d-%d", seq, n) }

func (st *state) finding(id string) (*Finding, error) {
	var f Finding
	if err := st.getJSON(tabFinding.key(id), &f); err != nil {
		if fault.KindOf(err) == fault.NotFound {
			return nil, fault.Errorf(fault.NotFound, "no finding %s", id)
		}
		return nil, err
	}
	return &f, nil
}

func findingIndex(f *Finding) [][]byte {
	sfx := []byte(f.ID)
	ks := [][]byte{idxFindingRegion.key(f.Region, sfx), idxFindingRule.key(f.Rule, sfx)}
	if f.Open {
		ks = append(ks, idxFindingOpen.key(f.Region, sfx))
	}
	if f.Org != "" {
		ks = append(ks, idxFindingOrg.key(f.Org, sfx))
	}
	if f.AssignedTo != "" {
		ks = append(ks, idxFindingAssigned.key(f.AssignedTo, sfx))
	}
	return ks
}

func (st *state) putFinding(old, f *Finding) error {
	if old != nil {
		for _, k := range findingIndex(old) {
			if err := st.tx.Delete(k); err != nil {
				return err
			}
		}
	}
	for _, k := range findingIndex(f) {
		if err := st.tx.Set(k, nil); err != nil {
			return err
		}
	}
	if err := st.putOutbox(old, f); err != nil { // outbox.go
		return err
	}
	return st.put(tabFinding.key(f.ID), f)
}
