package api

import (
	"net/http"
	"regexp"
	"strings"

	"github.com/gin-gonic/gin"
	"golang.org/x/text/language"
)

// Problems are written in the language the client asks for with
// Accept-Language: Chinese (zh, any region or script) or English, the
// default. q-values are honoured, q=0 refuses a language, and a tag that is
// neither (fr, *) is passed over. In Chinese, title and detail are Chinese
// and errors[].message is the same as errors[].message_zh; message_zh is
// there in both languages. Answers say Content-Language and Vary:
// Accept-Language.

// wantsChinese reports whether an Accept-Language header prefers Chinese
// to English.
func wantsChinese(header string) bool {
	tags, _, err := language.ParseAcceptLanguage(header) // sorted by q, q=0 dropped
	if err != nil {
		return false
	}
	for _, t := range tags {
		switch base, _ := t.Base(); base.String() {
		case "zh":
			return true
		case "en":
			return false
		}
	}
	return false
}

// chinese reports whether the request's problems are to be in Chinese and
// says in the answer's headers which language they are in.
func chinese(c *gin.Context) bool {
	c.Writer.Header().Add("Vary", "Accept-Language")
	if wantsChinese(c.GetHeader("Accept-Language")) {
		c.Header("Content-Language", "zh")
		return true
	}
	c.Header("Content-Language", "en")
	return false
}

// inChinese turns a problem's title, detail and field messages into
// Chinese.
func inChinese(p *problem) {
	if t, ok := titleZH[p.Status]; ok {
		p.Title = t
	}
	if p.Detail != "" {
		p.Detail = detailZH(p.Code, p.Detail)
	}
	for i := range p.Errors {
		p.Errors[i].Message = p.Errors[i].MessageZH
	}
}

// titleZH is the Chinese of the statuses problems are answered with.
var titleZH = map[int]string{
	http.StatusBadRequest:            "请求有误",
	http.StatusUnauthorized:          "未认证",
	http.StatusForbidden:             "无权操作",
	http.StatusNotFound:              "未找到",
	http.StatusMethodNotAllowed:      "不支持此方法",
	http.StatusRequestTimeout:        "请求超时",
	http.StatusConflict:              "冲突",
	http.StatusRequestEntityTooLarge: "请求过大",
	http.StatusUnprocessableEntity:   "不符合业务规则",
	http.StatusTooManyRequests:       "请求过多",
	http.StatusInternalServerError:   "服务器内部错误",
	http.StatusServiceUnavailable:    "服务暂不可用",
}

// kindZH opens the Chinese of a detail no rule of detailRules knows; the
// English follows it.
var kindZH = map[string]string{
	"invalid":            "请求有误",
	"unauthenticated":    "未认证",
	"forbidden":          "无权操作",
	"not_found":          "未找到",
	"conflict":           "冲突",
	"rejected":           "不符合业务规则",
	"too_large":          "请求过大",
	"unavailable":        "服务暂不可用",
	"rate_limited":       "请求过多",
	"method_not_allowed": "不支持此方法",
	"request_timeout":    "请求超时",
}

// detailRules are the Chinese of the most frequent details, tried in
// order like zhRules.
var detailRules = []struct {
	re *regexp.Regexp
	zh string
}{
	{rx(`invalid field (\S+)`), "字段 $1 有误"},
	{rx(`(\d+) invalid fields, first (\S+)`), "$1 个字段有误，第一个是 $2"},
	{rx(`the disk is nearly full \((\d+) MiB free, writes stop below (\d+) MiB\); writing resumes when space is freed`),
		"磁盘即将写满（剩余 $1 MiB，低于 $2 MiB 时停止写入）；释放空间后自动恢复写入"},
	{rx(`the disk cannot take an upload of (\d+) MiB now \((\d+) MiB free, (\d+) MiB kept in reserve\)`),
		"磁盘暂时放不下 $1 MiB 的上传（剩余 $2 MiB，保留 $3 MiB）"},
	{rx(`send an API key as 'Authorization: Bearer <key>'`), "请以 “Authorization: Bearer <密钥>” 发送 API 密钥"},
	{rx(`unknown API key`), "未知的 API 密钥"},
	{rx(`this API key was revoked`), "此 API 密钥已被吊销"},
	{rx(`a (\S+) key may not do this \(needs (.*)\)`), "$1 密钥无权执行此操作（需要 $2）"},
	{rx(`too many failed authentications from this address; retry after the time in Retry-After`), "此地址认证失败次数过多；请在 Retry-After 所示时间后重试"},
	{rx(`this API key sent too many requests; retry after the time in Retry-After`), "此 API 密钥请求过多；请在 Retry-After 所示时间后重试"},
	{rx(`this address sent too many requests; retry after the time in Retry-After`), "此地址请求过多；请在 Retry-After 所示时间后重试"},
	{rx(`the request body did not arrive in time.*`), "请求体未能及时到达；请一次发送（上传须快于最低速率）"},
	{rx(`no such path.*`), "没有这个路径"},
	{rx(`no lot (\S+)`), "没有批次 $1"},
	{rx(`no lot has trace code (\S+)`), "没有追溯码为 $1 的批次"},
	{rx(`the ledger is shutting down`), "账本正在关闭"},
	{rx(`Internal error; the server's log has the details under the request_id\.`), "内部错误；服务器日志中按 request_id 记录了详情。"},
	{rx(`Stored data failed an integrity check; the server's log has the details under the request_id\.`), "存储的数据未通过完整性校验；服务器日志中按 request_id 记录了详情。"},
}

// detailZH is the Chinese of a problem's detail: a known sentence
// translated, else the kind in Chinese followed by the English.
func detailZH(code, en string) string {
	for _, r := range detailRules {
		if m := r.re.FindStringSubmatchIndex(en); m != nil {
			return string(r.re.ExpandString(nil, r.zh, en, m))
		}
	}
	if k, ok := kindZH[code]; ok {
		return k + "：" + strings.TrimSpace(en)
	}
	return en
}
