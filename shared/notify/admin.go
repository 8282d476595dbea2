package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/app"
	"wxchannel/shared/apperr"
	"wxchannel/shared/httpapi"
	"wxchannel/shared/staffauth"
	"wxchannel/shared/storage"
)

// Settings returns a tenant's notification settings (every kind on when
// none are saved).
func (s *Store) Settings(ctx context.Context, tenantID string) (Settings, error) {
	var st Settings
	key := settingsKey(tenantID)
	err := s.table.Get("pk", key[0]).Range("sk", dynamo.Equal, key[1]).Consistent(true).One(ctx, &st)
	if err != nil && !errors.Is(err, dynamo.ErrNotFound) {
		return Settings{}, fmt.Errorf("read notification settings: %w", err)
	}
	if st.Off == nil {
		st.Off = []Kind{}
	}
	return st, nil
}

// PutSettings saves st if st.Version is the stored version (0 for none
// saved); a concurrent change is storage.ErrConflict.
func (s *Store) PutSettings(ctx context.Context, tenantID string, st Settings, now time.Time) (Settings, error) {
	for _, k := range st.Off {
		if !ValidKind(k) {
			return Settings{}, apperr.InvalidField("off", "kinds among accepted, on_the_way, completed, rate")
		}
	}
	slices.Sort(st.Off)
	st.Off = slices.Compact(st.Off)
	key := settingsKey(tenantID)
	saved := st
	saved.Version, saved.UpdatedAt = st.Version+1, now.Unix()
	item := struct {
		PK string `dynamo:"pk,hash"`
		SK string `dynamo:"sk,range"`
		Settings
	}{key[0].(string), key[1].(string), saved}
	put := s.table.Put(item)
	if st.Version == 0 {
		put = put.If("attribute_not_exists('pk')")
	} else {
		put = put.If("version = ?", st.Version)
	}
	if err := put.Run(ctx); err != nil {
		if dynamo.IsCondCheckFailed(err) {
			return Settings{}, storage.ErrConflict
		}
		return Settings{}, fmt.Errorf("save notification settings: %w", err)
	}
	return saved, nil
}

// admin serves the tenant admin's notification page.
type admin struct {
	store     *Store
	staff     *staffauth.Verifier
	publicApp string
	now       func() time.Time
}

// NewAdminHandler builds the adminnotify function: notification settings,
// the templates of the tenant's mini program, and the statistics.
func NewAdminHandler(_ context.Context, d *app.Deps) (*httpapi.Router, error) {
	staff, err := staffauth.FromDeps(d)
	if err != nil {
		return nil, err
	}
	h := &admin{store: NewStore(d.DB), staff: staff, publicApp: d.Config.PublicAppID, now: d.Now}
	rt := httpapi.NewRouter(d.Log)
	rt.Handle("GET /admin/notifications", staff.Admin(h.handleGet))
	rt.Handle("PUT /admin/notifications/settings", staff.Admin(h.handlePut))
	return rt, nil
}

// KindView is a kind on the admin's page.
type KindView struct {
	Kind Kind   `json:"kind"`
	On   bool   `json:"on"`
	Name string `json:"name"`
}

func (h *admin) handleGet(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	ctx := r.Context()
	keys := []dynamo.Keyed{settingsKey(c.TenantID), statsKey(c.TenantID), TemplatesKey(c.TenantID)}
	if h.publicApp != "" {
		keys = append(keys, PublicTemplatesKey(h.publicApp))
	}
	st := Settings{Off: []Kind{}}
	stats := Stats{Totals: map[State]int{}, ByKind: map[string]int{}, ByReason: map[string]int{}}
	var enterprise, public *Templates
	it := h.store.table.Batch("pk", "sk").Get(keys...).Consistent(true).Iter()
	var item dynamo.Item
	for it.Next(ctx, &item) {
		var err error
		switch sk := item["sk"]; {
		case isS(sk, skSettings):
			err = dynamo.UnmarshalItem(item, &st)
		case isS(sk, skStats):
			err = dynamo.UnmarshalItem(item, &stats)
		case isS(sk, skTemplates):
			enterprise = new(Templates)
			err = dynamo.UnmarshalItem(item, enterprise)
		default:
			public = new(Templates)
			err = dynamo.UnmarshalItem(item, public)
		}
		if err != nil {
			return fmt.Errorf("read notification page: %w", err)
		}
		item = nil
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("read notification page: %w", err)
	}
	kinds := make([]KindView, len(Kinds))
	for i, k := range Kinds {
		kinds[i] = KindView{Kind: k, On: st.On(k), Name: specs[k].title}
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"settings": st, "kinds": kinds, "stats": stats,
		"templates": map[string]any{"enterprise": enterprise, "public": public}})
	return nil
}

func (h *admin) handlePut(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	var req struct {
		Off     []Kind `json:"off"`
		Version *int   `json:"version"`
	}
	if err := httpapi.DecodeJSON(r, &req, 1<<10); err != nil {
		return err
	}
	if req.Version == nil || *req.Version < 0 {
		return apperr.InvalidField("version", "the version you read (0 before the first save)")
	}
	saved, err := h.store.PutSettings(r.Context(), c.TenantID, Settings{Off: req.Off, Version: *req.Version}, h.now())
	if errors.Is(err, storage.ErrConflict) {
		return apperr.E(apperr.Conflict, "version_conflict", "the notification settings changed since you read them: reload and try again")
	}
	if err != nil {
		return err
	}
	if saved.Off == nil {
		saved.Off = []Kind{}
	}
	httpapi.WriteJSON(w, http.StatusOK, saved)
	return nil
}
