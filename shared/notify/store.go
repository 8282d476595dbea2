package notify

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/storage"
	"wxchannel/shared/tenant"
	"wxchannel/shared/terminaluser"
)

// Items of notifications, in the service table (docs/data-model.md):
//   - tenant#<t> / subscribe_templates: the templates of the tenant's own
//     mini program (written by the release pipeline's preparation);
//   - platform / subscribe_templates#<appid>: the templates of the
//     platform's public mini program;
//   - tenant#<t> / notify_settings: which kinds the tenant turned off;
//   - tenant#<t> / notify_stats: counters of the sender's outcomes and the
//     last configuration problem;
//   - tenant#<t>#user#<u> / subscriptions: the user's grants, one number
//     attribute per template ("g#<template id>");
//   - tenant#<t>#user#<u> / note#<ms>#<event id>#<kind>: one notification
//     of the in-app feed, with the send's outcome (TTL 180 days);
//   - tenant#<t>#user#<u> / inbox: the unread count and the time before
//     which everything counts as read.
const (
	skTemplates     = "subscribe_templates"
	pkPlatform      = "platform"
	skSettings      = "notify_settings"
	skStats         = "notify_stats"
	skGrants        = "subscriptions"
	skInbox         = "inbox"
	skNotePrefix    = "note#"
	grantAttrPrefix = "g#"
	// NoteRetention is how long the feed keeps a notification.
	NoteRetention = 180 * 24 * time.Hour
)

// TemplatesKey is the key of a tenant's own mini program's templates.
func TemplatesKey(tenantID string) dynamo.Keys {
	return dynamo.Keys{storage.TenantPartition(tenantID), skTemplates}
}

// PublicTemplatesKey is the key of the public mini program's templates.
func PublicTemplatesKey(appid string) dynamo.Keys {
	return dynamo.Keys{pkPlatform, skTemplates + "#" + appid}
}

func settingsKey(tenantID string) dynamo.Keys {
	return dynamo.Keys{storage.TenantPartition(tenantID), skSettings}
}
func statsKey(tenantID string) dynamo.Keys {
	return dynamo.Keys{storage.TenantPartition(tenantID), skStats}
}
func grantsKey(tenantID, userID string) dynamo.Keys {
	return dynamo.Keys{terminaluser.UserPartition(tenantID, userID), skGrants}
}
func inboxKey(tenantID, userID string) dynamo.Keys {
	return dynamo.Keys{terminaluser.UserPartition(tenantID, userID), skInbox}
}

// Template is the template of one kind in one mini program: its id in the
// mini program's list, the library title it came from, and which field
// each keyword key shows.
type Template struct {
	Kind  Kind             `dynamo:"kind" json:"kind"`
	ID    string           `dynamo:"id" json:"template_id"`
	TID   string           `dynamo:"tid" json:"tid"`
	Title string           `dynamo:"title" json:"title"`
	Keys  map[string]field `dynamo:"keys" json:"keys"`
}

// Templates are the templates of one mini program, and the kinds the
// setup could not give one, with why.
type Templates struct {
	PK        string          `dynamo:"pk,hash" json:"-"`
	SK        string          `dynamo:"sk,range" json:"-"`
	AppID     string          `dynamo:"appid" json:"appid"`
	Templates []Template      `dynamo:"templates" json:"templates"`
	Missing   map[Kind]string `dynamo:"missing,omitempty" json:"missing,omitempty"`
	UpdatedAt int64           `dynamo:"updated_at" json:"updated_at"`
}

// Of returns the template of kind k.
func (t Templates) Of(k Kind) (Template, bool) {
	i := slices.IndexFunc(t.Templates, func(tp Template) bool { return tp.Kind == k })
	if i < 0 {
		return Template{}, false
	}
	return t.Templates[i], true
}

// ByID returns the template whose id is id.
func (t Templates) ByID(id string) (Template, bool) {
	i := slices.IndexFunc(t.Templates, func(tp Template) bool { return tp.ID == id })
	if i < 0 || id == "" {
		return Template{}, false
	}
	return t.Templates[i], true
}

// Settings are a tenant's notification settings: the kinds it turned off
// (every kind is on until turned off).
type Settings struct {
	Off       []Kind `dynamo:"off,omitempty" json:"off"`
	Version   int    `dynamo:"version" json:"version"`
	UpdatedAt int64  `dynamo:"updated_at" json:"updated_at,omitempty"`
}

// On reports whether kind k is on.
func (s Settings) On(k Kind) bool { return !slices.Contains(s.Off, k) }

// Grants are a user's remaining grants by template id.
type Grants map[string]int

// grantsFromItem reads the grant attributes of a subscriptions item.
func grantsFromItem(item dynamo.Item) Grants {
	g := Grants{}
	for name, v := range item {
		id, ok := strings.CutPrefix(name, grantAttrPrefix)
		n, isNum := v.(*types.AttributeValueMemberN)
		if !ok || !isNum {
			continue
		}
		if count, err := strconv.Atoi(n.Value); err == nil && count > 0 {
			g[id] = count
		}
	}
	return g
}

// Store keeps templates, settings, grants, the feed and the counters.
type Store struct {
	db    *dynamo.DB
	table dynamo.Table
}

// NewStore returns the store over db's service table.
func NewStore(db *storage.DB) *Store { return &Store{db: db.Dynamo, table: db.Service} }

// SaveTemplates stores t under key (TemplatesKey or PublicTemplatesKey).
func (s *Store) SaveTemplates(ctx context.Context, key dynamo.Keys, t Templates) error {
	t.PK, t.SK = key[0].(string), key[1].(string)
	if err := s.table.Put(t).Run(ctx); err != nil {
		return fmt.Errorf("save subscribe templates: %w", err)
	}
	return nil
}

// LoadTemplates reads the templates under key (none stored: empty).
func (s *Store) LoadTemplates(ctx context.Context, key dynamo.Keys) (Templates, error) {
	var t Templates
	err := s.table.Get("pk", key[0]).Range("sk", dynamo.Equal, key[1]).Consistent(true).One(ctx, &t)
	if errors.Is(err, dynamo.ErrNotFound) {
		return Templates{}, nil
	}
	if err != nil {
		return Templates{}, fmt.Errorf("read subscribe templates: %w", err)
	}
	return t, nil
}

// userView is what a request of a user reads: the user, their grants,
// the tenant's settings and the templates of both kinds of mini program
// (the user's appid picks one), in one consistent batch.
type userView struct {
	user      terminaluser.User
	found     bool
	grants    Grants
	settings  Settings
	tenant    tenant.Settings
	templates Templates
}

// viewKeys are the items of a user's view; publicApp is the platform's
// public mini program ("" when none is configured).
func viewKeys(tenantID, userID, publicApp string) []dynamo.Keyed {
	keys := []dynamo.Keyed{terminaluser.ProfileKey(tenantID, userID), grantsKey(tenantID, userID), settingsKey(tenantID),
		TemplatesKey(tenantID), tenant.SettingsKey(tenantID)}
	if publicApp != "" {
		keys = append(keys, PublicTemplatesKey(publicApp))
	}
	return keys
}

// readUserView reads the view of a user of tenantID in one batch.
func (s *Store) readUserView(ctx context.Context, tenantID, userID, publicApp string) (userView, error) {
	var items []dynamo.Item
	it := s.table.Batch("pk", "sk").Get(viewKeys(tenantID, userID, publicApp)...).Consistent(true).Iter()
	var item dynamo.Item
	for it.Next(ctx, &item) {
		items = append(items, item)
		item = nil
	}
	if err := it.Err(); err != nil {
		return userView{}, fmt.Errorf("read notification view: %w", err)
	}
	return decodeView(items)
}

// decodeView reads a user's view from the items of viewKeys (the user's
// own profile when the items hold none).
func decodeView(items []dynamo.Item) (userView, error) {
	v := userView{grants: Grants{}, tenant: tenant.Defaults()}
	var enterprise, public Templates
	for _, item := range items {
		pk, _ := item["pk"].(*types.AttributeValueMemberS)
		sk, _ := item["sk"].(*types.AttributeValueMemberS)
		if pk == nil || sk == nil {
			continue
		}
		var err error
		switch {
		case sk.Value == "profile":
			err, v.found = dynamo.UnmarshalItem(item, &v.user), true
		case sk.Value == skGrants:
			v.grants = grantsFromItem(item)
		case sk.Value == skSettings:
			err = dynamo.UnmarshalItem(item, &v.settings)
		case sk.Value == "settings":
			v.tenant, err = tenant.SettingsFromItem(item)
		case pk.Value == pkPlatform:
			err = dynamo.UnmarshalItem(item, &public)
		case sk.Value == skTemplates:
			err = dynamo.UnmarshalItem(item, &enterprise)
		}
		if err != nil {
			return userView{}, fmt.Errorf("read notification view: %w", err)
		}
	}
	switch {
	case !v.found:
	case v.user.AppID == enterprise.AppID && enterprise.AppID != "":
		v.templates = enterprise
	case v.user.AppID == public.AppID && public.AppID != "":
		v.templates = public
	}
	return v, nil
}

// AddGrants adds the grants a user's accepts gave and zeroes the
// templates they banned, in one write.
func (s *Store) AddGrants(ctx context.Context, tenantID, userID string, accepted, banned []string, now time.Time) (Grants, error) {
	key := grantsKey(tenantID, userID)
	u := s.table.Update("pk", key[0]).Range("sk", key[1]).Set("updated_at", now.Unix())
	adds := map[string]int{}
	for _, id := range accepted {
		adds[id]++
	}
	for _, id := range slices.Sorted(maps.Keys(adds)) {
		u = u.Add("'"+grantAttrPrefix+id+"'", adds[id])
	}
	for _, id := range banned {
		if adds[id] == 0 {
			u = u.Set("'"+grantAttrPrefix+id+"'", 0)
		}
	}
	var out dynamo.Item
	if err := u.Value(ctx, &out); err != nil {
		return nil, fmt.Errorf("record grants: %w", err)
	}
	return grantsFromItem(out), nil
}

// useGrant takes one grant of templateID after WeChat delivered with it;
// a grant already gone (a concurrent 43101) is fine.
func (s *Store) useGrant(ctx context.Context, tenantID, userID, templateID string) error {
	key := grantsKey(tenantID, userID)
	err := s.table.Update("pk", key[0]).Range("sk", key[1]).Add("'"+grantAttrPrefix+templateID+"'", -1).
		If("'"+grantAttrPrefix+templateID+"' > ?", 0).Run(ctx)
	if err != nil && !dynamo.IsCondCheckFailed(err) {
		return fmt.Errorf("use a grant: %w", err)
	}
	return nil
}

// clearGrant zeroes the user's grants of templateID (WeChat said 43101:
// none is left).
func (s *Store) clearGrant(ctx context.Context, tenantID, userID, templateID string) error {
	key := grantsKey(tenantID, userID)
	err := s.table.Update("pk", key[0]).Range("sk", key[1]).Set("'"+grantAttrPrefix+templateID+"'", 0).Run(ctx)
	if err != nil {
		return fmt.Errorf("clear a grant: %w", err)
	}
	return nil
}

// isS reports whether v is the string attribute s.
func isS(v types.AttributeValue, s string) bool {
	sv, ok := v.(*types.AttributeValueMemberS)
	return ok && sv.Value == s
}
