package wechatsim

// The error codes of subscribe messages, each with the errmsg WeChat sends
// for it. A reply of these carries its own errmsg, so that 47003 can name
// the refused key and 200014 can say whether the tid was missing or
// unknown. Sources, by code:
//   - send: https://developers.weixin.qq.com/miniprogram/dev/server/API/mp-message-management/subscribe-message/api_sendmessage.html;
//     texts of 43101 and 47003 from real replies quoted in WeChat's developer community;
//     40003 and 40037 from the global code list;
//   - the template library: the error tables of addtemplate, getpubtemplatetitles and deltemplate
//     (https://developers.weixin.qq.com/miniprogram/dev/api-backend/open-api/subscribe-message/subscribeMessage.addTemplate.html
//     and its neighbours); 200014 and 200019 from real replies in the community, the others in the
//     tables' own words, which are all a reply is known to carry.
const (
	codeInvalidOpenID        = 40003
	codeInvalidTemplateID    = 40037
	codeNoSubscription       = 43101
	codeInvalidKeywordValue  = 47003
	codeTemplateParamInvalid = 200002
	codeTemplateLimit        = 200012
	codeInvalidTID           = 200014
	codeInvalidStart         = 200016
	codeInvalidLimit         = 200017
	codeCategoryIDsMissing   = 200018
	codeInvalidCategoryIDs   = 200019
	codeInvalidKidList       = 200020
	codeInvalidSceneDesc     = 200021
)

var subscribeErrMessages = map[int]string{
	codeInvalidOpenID:        "invalid openid",
	codeInvalidTemplateID:    "invalid template_id",
	codeNoSubscription:       "user refuse to accept the msg",
	codeInvalidKeywordValue:  "argument invalid!",
	codeTemplateParamInvalid: "入参错误",
	codeTemplateLimit:        "个人模版数已达上限",
	codeInvalidTID:           "tid does not exist",
	codeInvalidStart:         "start 参数错误",
	codeInvalidLimit:         "limit 参数错误",
	codeCategoryIDsMissing:   "类目 ids 缺失",
	codeInvalidCategoryIDs:   "invalid parameter ids",
	codeInvalidKidList:       "关键词列表 kidList 参数错误",
	codeInvalidSceneDesc:     "场景描述 sceneDesc 参数错误",
}

// errmsgMissingTID is 200014's errmsg for a tid that is absent or not a
// string (community reports of {"tid":9615,...}).
const errmsgMissingTID = "missing parameter tid"

// errorReply is WeChat's error reply.
type errorReply struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

// subscribeErr answers WeChat's error reply for a subscribe-message code:
// HTTP 200, errcode, and errmsg (msg when given, else the code's own)
// ending in the request id.
func subscribeErr(code int, msg string) (any, int) {
	if msg == "" {
		msg = subscribeErrMessages[code]
	}
	return errorReply{ErrCode: code, ErrMsg: msg + " rid: " + randomHex(8)}, 0
}

// keywordErr is 47003 naming the refused key, as WeChat's errmsg does.
func keywordErr(key string) (any, int) {
	return subscribeErr(codeInvalidKeywordValue, subscribeErrMessages[codeInvalidKeywordValue]+" data."+key+".value invalid")
}
