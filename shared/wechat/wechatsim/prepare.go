package wechatsim

import (
	"sort"
	"strings"
)

// treeCategory is one node of getallcategories' category tree
// (https://developers.weixin.qq.com/doc/oplatform/openApi/miniprogram-management/category-management/api_getallcategories.html).
// Node 0 is the root; its children are the first-level categories.
type treeCategory struct {
	ID            int           `json:"id"`
	Name          string        `json:"name,omitempty"`
	Level         int           `json:"level,omitempty"`
	Father        int           `json:"father"`
	Children      []int         `json:"children"`
	SensitiveType int           `json:"sensitive_type"`
	Qualify       categoryProof `json:"qualify"`
}

// categoryProof is the qualification a sensitive category needs; the
// simulator's categories need none.
type categoryProof struct {
	ExterList []any  `json:"exter_list"`
	Remark    string `json:"remark"`
}

// categoryTree is getallcategories' categories_list.
type categoryTree struct {
	Categories []treeCategory `json:"categories"`
}

// The category tree the simulator offers (a small part of WeChat's).
var simCategories = categoryTree{Categories: []treeCategory{
	{ID: 0, Children: []int{1, 2, 3}, Qualify: categoryProof{ExterList: []any{}}},
	{ID: 1, Name: "Business Services", Level: 1, Father: 0, Children: []int{11}, Qualify: categoryProof{ExterList: []any{}}},
	{ID: 11, Name: "Enterprise Management", Level: 2, Father: 1, Children: []int{}, Qualify: categoryProof{ExterList: []any{}}},
	{ID: 2, Name: "Lifestyle Services", Level: 1, Father: 0, Children: []int{21}, Qualify: categoryProof{ExterList: []any{}}},
	{ID: 21, Name: "Home Services", Level: 2, Father: 2, Children: []int{}, Qualify: categoryProof{ExterList: []any{}}},
	{ID: 3, Name: "Tools", Level: 1, Father: 0, Children: []int{31}, Qualify: categoryProof{ExterList: []any{}}},
	{ID: 31, Name: "Equipment Management", Level: 2, Father: 3, Children: []int{}, Qualify: categoryProof{ExterList: []any{}}},
}}

// categoryName is the name of category id ("" when there is none).
func categoryName(id int) string {
	for _, c := range simCategories.Categories {
		if c.ID == id {
			return c.Name
		}
	}
	return ""
}

// isSecondLevel reports whether second is a second-level category under
// first.
func isSecondLevel(first, second int) bool {
	for _, c := range simCategories.Categories {
		if c.ID == second {
			return c.Level == 2 && c.Father == first
		}
	}
	return false
}

type prepState struct {
	categories map[int]int // second → first
	location   int         // privacy interface status
	privacySet bool
	domains    []string
}

func (c *codeMgmt) prep(appid string) *prepState {
	if c.prepared == nil {
		c.prepared = map[string]*prepState{}
	}
	p, ok := c.prepared[appid]
	if !ok {
		p = &prepState{categories: map[int]int{}, location: 1}
		c.prepared[appid] = p
	}
	return p
}

// ApprovePrivacyInterface ends WeChat's review of the wx.getLocation
// application for appid (status 5).
func (s *Sim) ApprovePrivacyInterface(appid string) {
	c := s.code()
	c.mu.Lock()
	c.prep(appid).location = 5
	c.mu.Unlock()
}

// ServerDomains returns appid's request domains.
func (s *Sim) ServerDomains(appid string) []string {
	c := s.code()
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.prep(appid).domains...)
}

func (s *Sim) prepareRoutes() {
	// withApp runs an API of an authorizer's preparation with its state
	// locked.
	withApp := func(fn func(p *prepState, body []byte) (any, int)) apiFunc {
		return s.withCode(func(a *Authorizer, cm *codeMgmt, _ *codeState, body []byte) (any, int) {
			return fn(cm.prep(a.AppID), body)
		})
	}
	s.handle("GET", "/cgi-bin/wxopen/getallcategories", "getallcategories", withApp(func(_ *prepState, _ []byte) (any, int) {
		return okReply(map[string]any{"categories_list": simCategories}), 0
	}))
	s.handle("GET", "/cgi-bin/wxopen/getcategory", "getcategory", withApp(settingCategories))
	s.handle("POST", "/cgi-bin/wxopen/addcategory", "addcategory", withApp(addCategories))
	s.handle("GET", "/wxa/security/get_privacy_interface", "get_privacy_interface", withApp(func(p *prepState, _ []byte) (any, int) {
		return okReply(map[string]any{"interface_list": []map[string]any{{"api_name": "wx.getLocation", "status": p.location}}}), 0
	}))
	s.handle("POST", "/wxa/security/apply_privacy_interface", "apply_privacy_interface", withApp(func(p *prepState, body []byte) (any, int) {
		var req struct {
			APIName string `json:"api_name"`
			Content string `json:"content"`
		}
		if c := decode(body, &req); c != 0 {
			return nil, c
		}
		if req.APIName != "wx.getLocation" || strings.TrimSpace(req.Content) == "" || len([]rune(req.Content)) > 300 {
			return nil, codeDataFormat
		}
		p.location = 3
		return okReply(map[string]any{"audit_id": 5001}), 0
	}))
	s.handle("POST", "/cgi-bin/component/setprivacysetting", "setprivacysetting", withApp(func(p *prepState, body []byte) (any, int) {
		var req struct {
			OwnerSetting map[string]string `json:"owner_setting"`
		}
		if c := decode(body, &req); c != 0 {
			return nil, c
		}
		if req.OwnerSetting["notice_method"] == "" {
			return nil, codeDataFormat
		}
		p.privacySet = true
		return okReply(nil), 0
	}))
	s.handle("POST", "/wxa/modify_domain", "modify_domain", withApp(func(p *prepState, body []byte) (any, int) {
		var req struct {
			Action        string   `json:"action"`
			RequestDomain []string `json:"requestdomain"`
		}
		if c := decode(body, &req); c != 0 {
			return nil, c
		}
		for _, d := range req.RequestDomain {
			if !strings.HasPrefix(d, "https://") {
				return nil, codeDomainsFiltered
			}
		}
		p.domains = req.RequestDomain
		return okReply(map[string]any{"requestdomain": p.domains}), 0
	}))
}

// settingCategories is wxopen/getcategory: the categories set, with their
// names, and the change quota.
// https://developers.weixin.qq.com/doc/oplatform/openApi/miniprogram-management/category-management/api_getsettingcategories.html
func settingCategories(p *prepState, _ []byte) (any, int) {
	const limit, categoryLimit = 5, 20
	list := []map[string]any{}
	for second, first := range p.categories {
		list = append(list, map[string]any{"first": first, "first_name": categoryName(first), "second": second,
			"second_name": categoryName(second), "audit_status": 3, "audit_reason": ""})
	}
	sort.Slice(list, func(i, j int) bool { return list[i]["second"].(int) < list[j]["second"].(int) })
	return okReply(map[string]any{"categories": list, "limit": limit, "quota": limit - len(list), "category_limit": categoryLimit}), 0
}

// addCategories is wxopen/addcategory: second-level categories of the
// tree, each added once (53303 "提交的参数不合法" for an unknown or
// delisted one, 53304 for one already set).
// https://developers.weixin.qq.com/doc/oplatform/openApi/miniprogram-management/category-management/api_addcategory.html
func addCategories(p *prepState, body []byte) (any, int) {
	var req struct {
		Categories []struct{ First, Second int } `json:"categories"`
	}
	if c := decode(body, &req); c != 0 {
		return nil, c
	}
	if len(req.Categories) == 0 {
		return nil, codeInvalidCategory
	}
	for _, cat := range req.Categories {
		if !isSecondLevel(cat.First, cat.Second) {
			return nil, codeInvalidCategory
		}
		if _, dup := p.categories[cat.Second]; dup {
			return nil, codeDuplicateCategory
		}
	}
	for _, cat := range req.Categories {
		p.categories[cat.Second] = cat.First
	}
	return okReply(nil), 0
}
