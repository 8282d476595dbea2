package notify

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/subscribe"
	"wxchannel/shared/wechat"
)

// Setup gives each kind a template in one mini program: it reuses a
// template of the mini program's list that the product can fill, or adds
// one from the public library (the library's title for the kind, in the
// mini program's service categories, with the keywords the product can
// fill), and stores which field each keyword shows. Running it again adds
// nothing that is there: it reads the list first (WeChat documents no
// error for adding the same title twice; it would make a second
// template and use the list's quota).
type Setup struct {
	wx    *wechat.Client
	store *Store
	now   func() time.Time
}

// NewSetup returns the template setup.
func NewSetup(wx *wechat.Client, store *Store, now func() time.Time) *Setup {
	return &Setup{wx: wx, store: store, now: now}
}

// SetupResult is what a setup run ended with.
type SetupResult struct {
	Templates Templates
	// Added counts the templates this run added.
	Added int
}

// Ready reports whether every kind has a template.
func (r SetupResult) Ready() bool { return len(r.Templates.Missing) == 0 }

// Summary describes the result for the preparation checklist.
func (r SetupResult) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d notification templates ready", len(r.Templates.Templates), len(Kinds))
	if r.Added > 0 {
		fmt.Fprintf(&b, " (%d added)", r.Added)
	}
	for _, k := range Kinds {
		if why, ok := r.Templates.Missing[k]; ok {
			fmt.Fprintf(&b, "; %s: %s", k, why)
		}
	}
	return b.String()
}

// Load reads the templates stored under key (empty when none are).
func (s *Setup) Load(ctx context.Context, key dynamo.Keys) (Templates, error) {
	return s.store.LoadTemplates(ctx, key)
}

// Run sets up appid's templates with its token source ts and stores them
// under key.
func (s *Setup) Run(ctx context.Context, ts wechat.TokenSource, appid string, key dynamo.Keys) (SetupResult, error) {
	have, err := s.wx.SubscribeTemplates(ctx, ts)
	if err != nil {
		return SetupResult{}, fmt.Errorf("list subscribe templates: %w", err)
	}
	cats, err := s.wx.SubscribeCategories(ctx, ts)
	if err != nil {
		return SetupResult{}, fmt.Errorf("subscribe categories: %w", err)
	}
	out := SetupResult{Templates: Templates{AppID: appid, Templates: []Template{}, Missing: map[Kind]string{}}}
	for _, k := range Kinds {
		if t, ok := reuse(k, have); ok {
			out.Templates.Templates = append(out.Templates.Templates, t)
			continue
		}
		if len(cats) == 0 {
			out.Templates.Missing[k] = "the mini program has no service category yet: set its categories, then prepare again"
			continue
		}
		t, why, err := s.add(ctx, ts, k, cats)
		switch {
		case err != nil && wechat.IsCode(err, wechat.CodeTemplateLimit):
			out.Templates.Missing[k] = "the mini program's template list is full: delete unused templates in the mini program's " +
				"admin console (订阅消息), then prepare again"
		case err != nil && (wechat.IsCode(err, wechat.CodeSubscribeAccountBanned) || wechat.IsCode(err, wechat.CodeTemplateBanned)):
			out.Templates.Missing[k] = "WeChat does not let this mini program pick the template (" + err.Error() + ")"
		case err != nil:
			return SetupResult{}, fmt.Errorf("add the %s template: %w", k, err)
		case why != "":
			out.Templates.Missing[k] = why
		default:
			out.Templates.Templates = append(out.Templates.Templates, t)
			out.Added++
		}
	}
	if len(out.Templates.Missing) == 0 {
		out.Templates.Missing = nil
	}
	out.Templates.UpdatedAt = s.now().Unix()
	if err := s.store.SaveTemplates(ctx, key, out.Templates); err != nil {
		return SetupResult{}, err
	}
	return out, nil
}

// reuse finds a template of the mini program's list for kind k: one of
// the kind's titles, one-time, every keyword one the product fills.
func reuse(k Kind, have []wechat.SubscribeTemplate) (Template, bool) {
	spec := specs[k]
	for _, title := range spec.titles {
		for _, t := range have {
			if t.Title != title || t.Type == wechat.LongTermSubscription {
				continue
			}
			if keys, ok := mapFields(spec, subscribe.Fields(t.Content)); ok {
				return Template{Kind: k, ID: t.ID, Title: t.Title, Keys: keys}, true
			}
		}
	}
	return Template{}, false
}

// mapFields maps each keyword of a template to the field it shows; it
// fails when one shows something the product cannot fill (the send would
// lack its value) or fewer than two are usable.
func mapFields(spec kindSpec, fields []subscribe.Field) (map[string]field, bool) {
	keys := map[string]field{}
	for _, f := range fields {
		fl := fieldOf(f.Label, f.Rule)
		if fl == "" || !slices.Contains(spec.want, fl) {
			return nil, false
		}
		keys[f.Key] = fl
	}
	return keys, len(keys) >= 2
}

// add adds kind k's template from the library; why says what is missing
// when the library has no usable title.
func (s *Setup) add(ctx context.Context, ts wechat.TokenSource, k Kind, cats []wechat.SubscribeCategory) (Template, string, error) {
	spec := specs[k]
	ids := make([]int, len(cats))
	for i, c := range cats {
		ids[i] = c.ID
	}
	for _, title := range spec.titles {
		page, err := s.wx.PublicTemplateTitles(ctx, ts, wechat.TitleQuery{CategoryIDs: ids, Limit: 30, Keyword: title})
		if err != nil {
			return Template{}, "", fmt.Errorf("library titles: %w", err)
		}
		for _, lt := range page.Titles {
			if lt.Title != title || lt.Type == wechat.LongTermSubscription {
				continue
			}
			kws, err := s.wx.PublicTemplateKeywords(ctx, ts, lt.TID)
			if err != nil {
				return Template{}, "", fmt.Errorf("library keywords: %w", err)
			}
			kids, keys := pickKeywords(spec, kws)
			if len(kids) < 2 {
				continue
			}
			id, err := s.wx.AddSubscribeTemplate(ctx, ts, lt.TID, kids, spec.sceneDesc)
			if err != nil {
				return Template{}, "", err
			}
			return Template{Kind: k, ID: id, TID: string(lt.TID), Title: lt.Title, Keys: keys}, "", nil
		}
	}
	return Template{}, "WeChat's library has no usable \"" + spec.titles[0] + "\" template in the mini program's categories: " +
		"add the service category Home Services or Equipment Management, then prepare again", nil
}

// pickKeywords chooses up to five keywords of a library title the product
// fills, one per field, in the kind's order of importance; the template's
// keys are the keywords' rules and ids.
func pickKeywords(spec kindSpec, kws []wechat.PublicTemplateKeyword) ([]int, map[string]field) {
	type pick struct {
		kid  int
		rank int
		key  string
		fl   field
	}
	var picks []pick
	taken := map[field]bool{}
	for _, kw := range kws {
		fl := fieldOf(kw.Name, kw.Rule)
		rank := slices.Index(spec.want, fl)
		if fl == "" || rank < 0 || taken[fl] || !subscribe.Known(kw.Rule) {
			continue
		}
		taken[fl] = true
		picks = append(picks, pick{kid: kw.KID, rank: rank, key: kw.Rule + strconv.Itoa(kw.KID), fl: fl})
	}
	slices.SortFunc(picks, func(a, b pick) int { return cmp.Compare(a.rank, b.rank) })
	picks = picks[:min(len(picks), 5)]
	kids := make([]int, len(picks))
	keys := map[string]field{}
	for i, p := range picks {
		kids[i], keys[p.key] = p.kid, p.fl
	}
	return kids, keys
}
