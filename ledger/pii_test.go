package ledger

import (
	"strings"
	"testing"

	"coldtrace/ledger/fault"
)

func TestCheckTextRefusesPersonalData(t *testing.T) {
	var fe fault.Fields
	checkText(&fe, "address", "上海市闵行区 张三 13812345678", false, 300)
	checkText(&fe, "name", "冷链仓", true, 200)
	err := fe.Err()
	if err == nil || !strings.Contains(err.Error(), "address") {
		t.Fatalf("an address with a mobile number passed: %v", err)
	}
	var fe2 fault.Fields
	checkText(&fe2, "name", "冷链仓", true, 200)
	if err := fe2.Err(); err != nil {
		t.Fatalf("a plain name refused: %v", err)
	}
}
