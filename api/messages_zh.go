package api

import (
	"regexp"
	"strings"
)

// Field errors are told in English by the ledger and in Chinese here:
// errors[].message_zh. zhRules are tried in order; the first whose pattern
// matches the whole English message gives the Chinese, with $1, $2 ... the
// parts the pattern captured (a value, a limit). A message no rule knows is
// shown as "字段有误：" and the English.
var zhRules = []struct {
	re *regexp.Regexp
	zh string
}{
	// The api's own decoding errors.
	{rx(`appears more than once; send each field once`), "重复出现；每个字段只能出现一次"},
	{rx(`is not a field of this request`), "不是此请求的字段"},
	{rx(`is not a field of an? (.*) event`), "不是 $1 事件的字段"},
	{rx(`must be a whole number of grams(?: above 0)?(?: \(not (.*)\))?`), "必须是以克为单位的整数（不能有小数）"},
	{rx(`must be a whole number(?: \(not (.*)\))?`), "必须是整数"},
	{rx(`must be a string, not .*`), "必须是文本（字符串）"},
	{rx(`must be a number, not .*`), "必须是数字"},
	{rx(`must be true or false(?:, not .*)?`), "必须是 true 或 false"},
	{rx(`must be an array, not .*`), "必须是数组（列表）"},
	{rx(`must be an object, not .*`), "必须是对象"},
	{rx(`must be an RFC 3339 time such as (.*)`), "必须是 RFC 3339 格式的时间，例如 $1"},
	{rx(`malformed JSON at byte (\d+).*`), "JSON 格式错误（第 $1 字节）"},
	{rx(`the body is empty; a JSON object is required`), "请求体为空，需要一个 JSON 对象"},
	{rx(`the body ends in the middle of the JSON`), "请求体在 JSON 中途结束"},
	{rx(`unexpected data after the JSON object`), "JSON 对象之后还有多余的数据"},
	{rx(`must be application/json, is (.*)`), "必须是 application/json，而不是 $1"},
	{rx(`is not a cursor this server gave`), "不是本服务器给出的翻页游标"},
	{rx(`does not belong to this filter`), "与本次查询条件不符"},
	{rx(`lists at most (\d+) entries`), "最多只能列出 $1 项"},
	{rx(`is longer than (\d+) characters`), "超过 $1 个字符"},
	{rx(`must be at least (\d+) characters`), "至少需要 $1 个字符"},
	// The ledger's most common field checks.
	{rx(`is required`), "必填"},
	{rx(`is required.*`), "必填"},
	{rx(`is not valid UTF-8`), "不是有效的 UTF-8 文本"},
	{rx(`contains control characters`), "含有控制字符"},
	{rx(`contains an invisible or direction-changing character \((U\+[0-9A-F]+)\)`), "含有不可见字符或改变文字方向的字符（$1）"},
	{rx(`is already registered`), "已经登记过"},
	{rx(`reads like the registered site (\S+).*`), "与已登记的场所 $1 仅大小写或末尾标点不同，视为同一编号"},
	{rx(`is not a unified social credit code.*`), "不是统一社会信用代码"},
	{rx(`check character is (.), want (.) \(GB 32100\).*`), "校验码为 $1，应为 $2（GB 32100）"},
	{rx(`is not a 6-digit GB/T 2260 region code`), "不是 6 位 GB/T 2260 行政区划代码"},
	{rx(`is not a region prefix.*`), "不是行政区划代码前缀（GB/T 2260 代码的前 2、4 或 6 位）"},
	{rx(`unknown (?:value|site type|role|document type|status|kind|event kind) (".*?")(?: \(one of (.*)\))?`), "未知的取值 $1"},
	{rx(`is in the future`), "是未来的时间"},
	{rx(`must be after (at|from)`), "必须晚于 $1"},
	{rx(`must not be negative`), "不能为负数"},
	{rx(`must be between (\S+) and (\S+)`), "必须在 $1 到 $2 之间"},
	{rx(`must be the number of samples taken, at least 1`), "必须是采样数量，至少为 1"},
	{rx(`must be a temperature in °C between (\S+) and (\S+)`), "必须是 $1 到 $2 之间的摄氏温度"},
	{rx(`must be a date as YYYY-MM-DD`), "必须是 YYYY-MM-DD 格式的日期"},
	{rx(`is not a trace code`), "不是追溯码"},
	{rx(`is not a site id`), "不是场所编号"},
	{rx(`must be 1-64 letters, digits.*`), "必须是 1 到 64 个字母、数字、“.”、“_” 或 “-”，以字母或数字开头"},
	{rx(`is not an ISO 6346 container number.*`), "不是 ISO 6346 集装箱号"},
	{rx(`is not a customs declaration number.*`), "不是报关单号（18 位数字）"},
	{rx(`is not an HS code.*`), "不是 HS 编码（4 到 10 位数字）"},
	{rx(`is not an ISO 3166 alpha-2 country code.*`), "不是 ISO 3166 两位国家代码（如 BR、NZ、AR）"},
	{rx(`is not a Chinese vehicle plate.*`), "不是中国车牌号（如 沪A12345）"},
	{rx(`is not a SHA-256.*`), "不是 SHA-256 值（64 位小写十六进制）"},
	{rx(`is more than 1,000,000 tonnes`), "超过一百万吨"},
	{rx(`repeats entry (\d+) \((.*)\)`), "与第 $1 项重复（$2）"},
	{rx(`must be up, down or both`), "必须是 up、down 或 both"},
	{rx(`is longer than 255 characters`), "超过 255 个字符"},
}

func rx(s string) *regexp.Regexp { return regexp.MustCompile(`^(?:` + s + `)$`) }

// messageZH is the Chinese of a field error's English message.
func messageZH(en string) string {
	for _, r := range zhRules {
		if m := r.re.FindStringSubmatchIndex(en); m != nil {
			return string(r.re.ExpandString(nil, r.zh, en, m))
		}
	}
	return "字段有误：" + strings.TrimSpace(en)
}
