package wechatsim

import (
	"errors"
	"net/http"
	"slices"
	"strconv"

	"wxchannel/shared/subscribe"
)

// Values a send's miniprogram_state and lang may take (empty: formal,
// zh_CN).
var (
	miniProgramStates = []string{"", "developer", "trial", "formal"}
	messageLangs      = []string{"", "zh_CN", "en_US", "zh_HK", "zh_TW"}
)

// sendRequest is cgi-bin/message/subscribe/send's body. A value is "any"
// in the page's words: a string, or a number taken as its text.
type sendRequest struct {
	ToUser     string `json:"touser"`
	TemplateID string `json:"template_id"`
	Page       string `json:"page"`
	Data       map[string]struct {
		Value any `json:"value"`
	} `json:"data"`
	State string `json:"miniprogram_state"`
	Lang  string `json:"lang"`
}

// sendSubscribeMessage is cgi-bin/message/subscribe/send, checked in this
// order: a user the simulator logged in for the mini program (40003), a
// template of the mini program's own list (40037), a value for each of its
// keywords and for nothing else, each passing its rule (47003 naming the
// key), and a grant of the user's for the template (43101). A delivered
// message uses the grant up and is recorded. An unknown miniprogram_state
// or lang is 47001 "data format error" here; the page says nothing of it.
func (s *Sim) sendSubscribeMessage(appid string, _ *http.Request, body []byte) (any, int) {
	var req sendRequest
	if c := decode(body, &req); c != 0 {
		return nil, c
	}
	if !slices.Contains(miniProgramStates, req.State) || !slices.Contains(messageLangs, req.Lang) {
		return nil, codeDataFormat
	}
	if !s.knowsUser(appid, req.ToUser) {
		return subscribeErr(codeInvalidOpenID, "")
	}
	st := s.subscriptions
	t, ok := st.template(appid, req.TemplateID)
	if !ok {
		return subscribeErr(codeInvalidTemplateID, "")
	}
	data, badKey := keywordValues(t, req)
	if badKey != "" {
		return keywordErr(badKey)
	}
	grant := grantKey{appid, req.ToUser, req.TemplateID}
	if st.grants[grant] == 0 {
		return subscribeErr(codeNoSubscription, "")
	}
	st.grants[grant]--
	st.nextMsgID++
	st.sent[appid] = append(st.sent[appid], SentMessage{AppID: appid, ToUser: req.ToUser, TemplateID: req.TemplateID,
		Page: req.Page, Data: data, State: req.State, Lang: req.Lang, MsgID: st.nextMsgID, SentAt: s.opts.Now()})
	return okReply(map[string]any{"msgid": st.nextMsgID}), 0
}

// knowsUser reports whether openid ever logged in to appid: WeChat knows
// a user of a mini program from the code2session that useCode records
// (under appid/openid).
func (s *Sim) knowsUser(appid, openid string) bool {
	_, ok := s.logins[appid+"/"+openid]
	return openid != "" && ok
}

// keywordValues returns the message's values by key, or the first key
// (in the template's order, then any extra key) whose value is missing,
// not text, breaks its rule, or belongs to no keyword of the template.
func keywordValues(t *addedTemplate, req sendRequest) (map[string]string, string) {
	data := map[string]string{}
	for _, k := range t.keywords {
		v, ok := req.Data[k.key()]
		text, isText := valueText(v.Value)
		if !ok || !isText || subscribe.Valid(k.rule, text) != nil {
			return nil, k.key()
		}
		data[k.key()] = text
	}
	for key := range req.Data {
		if _, ours := data[key]; !ours {
			return nil, key
		}
	}
	return data, ""
}

// valueText is a keyword value as text: a string, or a number.
func valueText(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	}
	return "", false
}

// consoleGrant plays a user accepting templates in the mini program: one
// wx.requestSubscribeMessage asks for at most 3, and each accept (times,
// default 1) allows one message.
func (s *Sim) consoleGrant(_ *http.Request, in *struct {
	AppID       string   `json:"appid"`
	OpenID      string   `json:"openid"`
	TemplateIDs []string `json:"template_ids"`
	Times       int      `json:"times"`
}) (any, error) {
	if in.AppID == "" || in.OpenID == "" || len(in.TemplateIDs) == 0 {
		return nil, errors.New("appid, openid and template_ids are required")
	}
	if len(in.TemplateIDs) > maxTemplatesPerRequest {
		return nil, errors.New("one request asks for at most 3 templates")
	}
	times := max(in.Times, 1)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range in.TemplateIDs {
		if _, ok := s.subscriptions.template(in.AppID, id); !ok {
			return nil, errNoSuchTemplate
		}
	}
	remaining := map[string]int{}
	for _, id := range in.TemplateIDs {
		k := grantKey{in.AppID, in.OpenID, id}
		s.subscriptions.grants[k] += times
		remaining[id] = s.subscriptions.grants[k]
	}
	return map[string]any{"appid": in.AppID, "openid": in.OpenID, "remaining": remaining}, nil
}

// consoleSubscribeMessages answers the messages delivered for ?appid=.
func (s *Sim) consoleSubscribeMessages(w http.ResponseWriter, r *http.Request) {
	appid := r.URL.Query().Get("appid")
	if appid == "" {
		writeConsoleError(w, "bad_request", errors.New("appid is required"))
		return
	}
	writeConsole(w, http.StatusOK, map[string]any{"messages": s.SubscribeMessages(appid)})
}
