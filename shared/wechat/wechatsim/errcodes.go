package wechatsim

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// The error codes the simulator answers, named once, each with the errmsg
// WeChat sends for it (before " rid: ..."). Sources, by code:
//   - global codes: https://developers.weixin.qq.com/doc/oplatform/Return_codes/Return_code_descriptions_new.html
//     (English texts as listed there and in WxJava's WxOpenErrorMsgEnum, which copies that page);
//     41018 also https://developers.weixin.qq.com/doc/channels/API/basics/commErrCode.html;
//   - per-API codes: the "错误码" table of each API's page under
//     https://developers.weixin.qq.com/doc/oplatform/openApi/ (code management, category and domain pages);
//   - texts quoted from real replies in WeChat's developer community where a page gives only Chinese
//     (61039, 61040, 85301, 53303), noted beside the code.
const (
	codeSystemBusy = -1

	codeInvalidCredential = 40001 // also an unknown or superseded token
	codeInvalidGrantType  = 40002
	codeInvalidAppID      = 40013
	codeInvalidJSCode     = 40029
	codeIllegalToken      = 40014 // injected by tests of the client's token refresh
	codeInvalidAppSecret  = 40125
	codeInvalidScene      = 40129
	codeJSCodeUsed        = 40163

	codeTokenMissing          = 41001
	codeAppIDMissing          = 41002
	codeAppSecretMissing      = 41004
	codeJSCodeMissing         = 41008
	codeComponentAppIDMissing = 41018
	codeInvalidPage           = 41030

	codeTokenExpired    = 42001
	codeEmptyPostData   = 44002
	codeDailyQuota      = 45009
	codeMinuteQuota     = 45011
	codeDataFormat      = 47001
	codeAPIUnauthorized = 48001

	codeInvalidCategory   = 53303
	codeDuplicateCategory = 53304

	codeNotAuthorized       = 61003
	codeIPNotWhitelisted    = 61004
	codeTicketExpired       = 61005
	codeTicketInvalid       = 61006
	codeAuthCodeInvalid     = 61009
	codeAuthCodeExpired     = 61010
	codeInvalidComponent    = 61011
	codeRefreshTokenInvalid = 61023
	codePrivacyScanPending  = 61039
	codePrivacyUndeclared   = 61040

	codeAuditPending     = 85009
	codeInvalidAuditID   = 85012
	codeTemplateMissing  = 85014
	codeNoAuditVersion   = 85019
	codeNotReleasable    = 85020
	codeExtJSONParse     = 85048
	codeAuditQuota       = 85085
	codeMustCommitFirst  = 85086
	codeDomainsFiltered  = 85301
	codeBasicInfoMissing = 86002
	codeCannotRevert     = 87012
	codeUndoQuota        = 87013
)

var errMessages = map[int]string{
	codeSystemBusy:            "system error",
	codeInvalidCredential:     "invalid credential, access_token is invalid or not latest",
	codeInvalidGrantType:      "invalid grant_type",
	codeInvalidAppID:          "invalid appid",
	codeInvalidJSCode:         "invalid code",
	codeIllegalToken:          "invalid access_token",
	codeInvalidAppSecret:      "invalid appsecret",
	codeInvalidScene:          "invalid scene",
	codeJSCodeUsed:            "code been used",
	codeTokenMissing:          "access_token missing",
	codeAppIDMissing:          "appid missing",
	codeAppSecretMissing:      "appsecret missing",
	codeJSCodeMissing:         "missing code",
	codeComponentAppIDMissing: "missing component_appid",
	codeInvalidPage:           "invalid page",
	codeTokenExpired:          "access_token expired",
	codeEmptyPostData:         "empty post data",
	codeDailyQuota:            "reach max api daily quota limit",
	codeMinuteQuota:           "api minute-quota reach limit mustslower retry next minute",
	codeDataFormat:            "data format error",
	codeAPIUnauthorized:       "api unauthorized",
	codeInvalidCategory:       "提交的参数不合法", // community reply to wxopen/addcategory, 2021
	codeDuplicateCategory:     "与已有类目重复",  // addcategory's error table; real replies carry an empty errmsg
	codeNotAuthorized:         "component is not authorized by this account",
	codeIPNotWhitelisted:      "access clientip is not registered",
	codeTicketExpired:         "component ticket is expired",
	codeTicketInvalid:         "component ticket is invalid",
	codeAuthCodeInvalid:       "code is invalid",
	codeAuthCodeExpired:       "code is expired",
	codeInvalidComponent:      "invalid component",
	codeRefreshTokenInvalid:   "refresh_token is invalid",
	codePrivacyScanPending:    "隐私接口检查任务未完成，请稍等一分钟再重试", // community replies to submit_audit, 2022
	// A WeChat staff reply in the community quoting 61040's errmsg (one of its two forms).
	codePrivacyUndeclared: "代码中含有 ext.json 未配置隐私接口 wx.getLocation（暂无权限），" +
		"请配置并申请权限或者承诺不使用这些接口（设置参数privacy_api_not_use为true）后再提交审核",
	codeAuditPending:     "already submit a version under auditing",
	codeInvalidAuditID:   "invalid audit id",
	codeTemplateMissing:  "template not exist",
	codeNoAuditVersion:   "no version is under auditing",
	codeNotReleasable:    "status not allowed",
	codeExtJSONParse:     "parse ext_json fail",
	codeAuditQuota:       "submit audit reach limit pleasetry later",
	codeMustCommitFirst:  "must commit before submit audit",
	codeBasicInfoMissing: "miniprogram have not completed init procedure",
	codeCannotRevert:     "forbid revert this version release",
	codeUndoQuota:        "no quota to undo code",
	// Community replies to modify_domain, 2021.
	codeDomainsFiltered: "no domain to modify after filtered, please confirm the domain has been set in miniprogram or open, " +
		"and follows the rule of domains",
}

// errMessage is WeChat's errmsg for code. A code injected by a test that
// the simulator never answers itself may have none: the reply then says so
// rather than invent one.
func errMessage(code int) string {
	if msg, ok := errMessages[code]; ok {
		return msg
	}
	return "errcode " + strconv.Itoa(code) + " injected by the simulator's caller"
}

// writeErr answers WeChat's error reply: HTTP 200 with errcode and errmsg
// ending in the request id.
func writeErr(w http.ResponseWriter, code int) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(map[string]any{"errcode": code, "errmsg": errMessage(code) + " rid: " + randomHex(8)})
}
