package wechat

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"strings"
)

// Subscribe messages (订阅消息): templates picked from WeChat's public
// library (wxaapi/newtmpl/*) and messages sent with one of them to a user
// who accepted it in the mini program. Called for an authorizer with its
// authorizer_access_token (permission set 18 or 89), or for the public mini
// program with its own token.
// https://developers.weixin.qq.com/miniprogram/dev/server/API/mp-message-management/subscribe-message/api_sendmessage.html

// Error codes of subscribe messages. Send:
// https://developers.weixin.qq.com/miniprogram/dev/server/API/mp-message-management/subscribe-message/api_sendmessage.html
// Template library: the error tables of addtemplate, getpubtemplatetitles
// and deltemplate under
// https://developers.weixin.qq.com/miniprogram/dev/api-backend/open-api/subscribe-message/subscribeMessage.addTemplate.html
const (
	// CodeInvalidOpenID: touser is empty or not a user of this mini program.
	CodeInvalidOpenID = 40003
	// CodeInvalidTemplateID: template_id is empty or not a template of this
	// mini program (deleted, or another app's).
	CodeInvalidTemplateID = 40037
	// CodeNoSubscription: the user holds no grant for the template: they
	// refused it, never accepted it, or its one send is used up.
	CodeNoSubscription = 43101
	// CodeInvalidKeywordValue: a keyword value is empty or breaks its rule
	// (see shared/subscribe); the errmsg names the key (InvalidKeyword).
	CodeInvalidKeywordValue = 47003

	// CodeTemplateParamInvalid: deltemplate's "入参错误" (e.g. an unknown
	// priTmplId).
	CodeTemplateParamInvalid = 200002
	// CodeSubscribeAccountBanned: the account may not use subscribe
	// templates.
	CodeSubscribeAccountBanned = 200011
	// CodeTemplateLimit: the mini program's own template list is full;
	// delete one first.
	CodeTemplateLimit = 200012
	// CodeTemplateBanned: the public template may no longer be picked.
	CodeTemplateBanned = 200013
	// CodeInvalidTemplateTID: the tid is missing, not a string, or not a
	// title of the library.
	CodeInvalidTemplateTID = 200014
	// CodeInvalidStart and CodeInvalidLimit: getpubtemplatetitles' paging
	// (limit is 1 to 30).
	CodeInvalidStart = 200016
	CodeInvalidLimit = 200017
	// CodeCategoryIDsMissing and CodeInvalidCategoryIDs: getpubtemplatetitles'
	// ids.
	CodeCategoryIDsMissing = 200018
	CodeInvalidCategoryIDs = 200019
	// CodeInvalidKidList: addtemplate's kidList (2 to 5 distinct keywords
	// of the title).
	CodeInvalidKidList = 200020
	// CodeInvalidSceneDesc: addtemplate's sceneDesc (at most 15 characters).
	CodeInvalidSceneDesc = 200021
)

// InvalidKeyword is the key of the keyword value a 47003 reply refuses,
// read from its errmsg ("argument invalid! data.thing1.value invalid").
func InvalidKeyword(err error) (string, bool) {
	var e *APIError
	if !errors.As(err, &e) || e.Code != CodeInvalidKeywordValue {
		return "", false
	}
	_, after, found := strings.Cut(e.Msg, "data.")
	key, _, ended := strings.Cut(after, ".value")
	if !found || !ended || key == "" {
		return "", false
	}
	return key, true
}

// SubscribeTemplateType is a template's kind in the library.
type SubscribeTemplateType int

// Template kinds.
const (
	// OneTimeSubscription: each accept allows one message.
	OneTimeSubscription SubscribeTemplateType = 2
	// LongTermSubscription: for some public-service categories only.
	LongTermSubscription SubscribeTemplateType = 3
)

// SubscribeCategory is a category of the mini program, under which the
// library files its template titles.
type SubscribeCategory struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

// SubscribeCategories returns the mini program's categories
// (newtmpl/getcategory).
func (c *Client) SubscribeCategories(ctx context.Context, tokens TokenSource) ([]SubscribeCategory, error) {
	req := appGet("/wxaapi/newtmpl/getcategory", tokens).retryable()
	req.API = "newtmpl_getcategory"
	var out struct {
		Data []SubscribeCategory `json:"data"`
	}
	err := c.Do(ctx, req, &out)
	return out.Data, err
}

// PublicTemplateTitle is a title of the public template library.
type PublicTemplateTitle struct {
	// TID is a number in the reply (one SDK reads it as a string; either is
	// read), and a string where addtemplate takes it.
	TID   IDString              `json:"tid"`
	Title string                `json:"title"`
	Type  SubscribeTemplateType `json:"type"`
	// CategoryID is a number in the reply's table and a string in its
	// example; either is read.
	CategoryID IDString `json:"categoryId"`
}

// IDString is an id WeChat sends as a number or as a string, kept as its
// decimal text.
type IDString string

// UnmarshalJSON takes 616 or "616".
func (id *IDString) UnmarshalJSON(b []byte) error {
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*id = IDString(n)
	return nil
}

// PublicTemplateTitles is one page of titles and how many match in all.
type PublicTemplateTitles struct {
	Count  int                   `json:"count"`
	Titles []PublicTemplateTitle `json:"data"`
}

// TitleQuery asks the library for titles of some categories.
type TitleQuery struct {
	CategoryIDs []int
	// Start counts from 0; Limit is 1 to 30.
	Start, Limit int
	// Keyword narrows the titles to those containing it (sent only when
	// set; the API pages found name no such parameter).
	Keyword string
}

// PublicTemplateTitles pages through the library's titles for categories
// (newtmpl/getpubtemplatetitles).
func (c *Client) PublicTemplateTitles(ctx context.Context, tokens TokenSource, q TitleQuery) (PublicTemplateTitles, error) {
	ids := make([]string, 0, len(q.CategoryIDs))
	for _, id := range q.CategoryIDs {
		ids = append(ids, strconv.Itoa(id))
	}
	req := appGet("/wxaapi/newtmpl/getpubtemplatetitles", tokens).retryable()
	req.Query = url.Values{"ids": {strings.Join(ids, ",")}, "start": {strconv.Itoa(q.Start)}, "limit": {strconv.Itoa(q.Limit)}}
	if q.Keyword != "" {
		req.Query.Set("keyword", q.Keyword)
	}
	var out PublicTemplateTitles
	err := c.Do(ctx, req, &out)
	return out, err
}

// PublicTemplateKeyword is a keyword a title offers: its id (kid), label,
// an example value and its rule (shared/subscribe names the rules).
type PublicTemplateKeyword struct {
	KID     int    `json:"kid"`
	Name    string `json:"name"`
	Example string `json:"example"`
	Rule    string `json:"rule"`
}

// PublicTemplateKeywords lists the keywords of a title
// (newtmpl/getpubtemplatekeywords).
func (c *Client) PublicTemplateKeywords(ctx context.Context, tokens TokenSource, tid IDString) ([]PublicTemplateKeyword, error) {
	req := appGet("/wxaapi/newtmpl/getpubtemplatekeywords", tokens).retryable()
	req.Query = url.Values{"tid": {string(tid)}}
	var out struct {
		Data []PublicTemplateKeyword `json:"data"`
	}
	err := c.Do(ctx, req, &out)
	return out.Data, err
}

// AddSubscribeTemplate adds a template of title tid with keywords kids (2
// to 5, in the order they show) to the mini program's own list and returns
// its id (priTmplId), the template_id of a send. The tid travels as a
// string: WeChat answers a number with 200014 "missing parameter tid".
// Not idempotent: a second add makes a second template, so the call is not
// retried once it may have reached WeChat.
func (c *Client) AddSubscribeTemplate(ctx context.Context, tokens TokenSource, tid IDString, kids []int, sceneDesc string) (string, error) {
	body := map[string]any{"tid": string(tid), "kidList": kids, "sceneDesc": sceneDesc}
	var out struct {
		PriTmplID string `json:"priTmplId"`
	}
	err := c.Do(ctx, appPost("/wxaapi/newtmpl/addtemplate", tokens, body), &out)
	return out.PriTmplID, err
}

// SubscribeTemplate is a template of the mini program's own list. Content
// names its keywords, one line each: "工单编号:{{character_string1.DATA}}"
// (shared/subscribe.Fields reads it).
type SubscribeTemplate struct {
	ID      string                `json:"priTmplId"`
	Title   string                `json:"title"`
	Content string                `json:"content"`
	Example string                `json:"example"`
	Type    SubscribeTemplateType `json:"type"`
}

// SubscribeTemplates lists the mini program's own templates
// (newtmpl/gettemplate).
func (c *Client) SubscribeTemplates(ctx context.Context, tokens TokenSource) ([]SubscribeTemplate, error) {
	var out struct {
		Data []SubscribeTemplate `json:"data"`
	}
	err := c.Do(ctx, appGet("/wxaapi/newtmpl/gettemplate", tokens).retryable(), &out)
	return out.Data, err
}

// DeleteSubscribeTemplate removes a template from the mini program's list
// (newtmpl/deltemplate). Users' grants for it go with it.
func (c *Client) DeleteSubscribeTemplate(ctx context.Context, tokens TokenSource, templateID string) error {
	return c.Do(ctx, appPost("/wxaapi/newtmpl/deltemplate", tokens, map[string]string{"priTmplId": templateID}), nil)
}

// MiniProgramState is which version of the mini program a message opens.
type MiniProgramState string

// Mini program versions.
const (
	StateDeveloper MiniProgramState = "developer"
	StateTrial     MiniProgramState = "trial"
	StateFormal    MiniProgramState = "formal"
)

// MessageLang is the language of the message's "进入小程序查看" link.
type MessageLang string

// Languages of a subscribe message.
const (
	LangSimplifiedChinese MessageLang = "zh_CN"
	LangEnglish           MessageLang = "en_US"
	LangHongKongChinese   MessageLang = "zh_HK"
	LangTaiwanChinese     MessageLang = "zh_TW"
)

// SubscribeMessage is one message to one user.
type SubscribeMessage struct {
	ToUser     string
	TemplateID string
	// Page is the mini program page the message opens, with a query
	// (pages/order/detail?id=1); empty: the message opens nothing.
	Page string
	// Data maps each keyword key of the template (thing1) to its value,
	// which must pass shared/subscribe.Valid for the key's rule.
	Data map[string]string
	// State defaults to StateFormal, Lang to LangSimplifiedChinese; both
	// are always sent (the current page marks them required).
	State MiniProgramState
	Lang  MessageLang
}

// subscribeValue is one keyword value on the wire: {"value": "..."}.
type subscribeValue struct {
	Value string `json:"value"`
}

// SendSubscribeMessage sends msg, using up one of the user's grants for
// its template, and returns WeChat's msgid (0 if the reply has none; the
// page documents only errcode and errmsg). Not idempotent: a message that
// may have reached WeChat is not sent again, since a second copy would use
// a second grant.
func (c *Client) SendSubscribeMessage(ctx context.Context, tokens TokenSource, msg SubscribeMessage) (int64, error) {
	data := make(map[string]subscribeValue, len(msg.Data))
	for k, v := range msg.Data {
		data[k] = subscribeValue{Value: v}
	}
	body := struct {
		ToUser     string                    `json:"touser"`
		TemplateID string                    `json:"template_id"`
		Page       string                    `json:"page,omitempty"`
		Data       map[string]subscribeValue `json:"data"`
		State      MiniProgramState          `json:"miniprogram_state"`
		Lang       MessageLang               `json:"lang"`
	}{msg.ToUser, msg.TemplateID, msg.Page, data, msg.State, msg.Lang}
	if body.State == "" {
		body.State = StateFormal
	}
	if body.Lang == "" {
		body.Lang = LangSimplifiedChinese
	}
	req := appPost("/cgi-bin/message/subscribe/send", tokens, body)
	req.API = "subscribe_send"
	var out struct {
		MsgID int64 `json:"msgid"`
	}
	err := c.Do(ctx, req, &out)
	return out.MsgID, err
}
