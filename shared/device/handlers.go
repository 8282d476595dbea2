package device

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strconv"

	"wxchannel/shared/apperr"
	"wxchannel/shared/httpapi"
	"wxchannel/shared/qrscene"
	"wxchannel/shared/staffauth"
	"wxchannel/shared/storage"
	"wxchannel/shared/tenant"
	"wxchannel/shared/usersession"
)

// Limits of the lists.
const (
	// MaxOwnedListed is how many of a user's devices GET /portal/devices
	// lists.
	MaxOwnedListed = 50
	// OwnHistoryDepth is how many of a device's newest orders are looked
	// at for the user's own, per device of GET /portal/devices.
	OwnHistoryDepth = 20
	// DefaultPage and MaxPage bound the admin's pages.
	DefaultPage = 50
	MaxPage     = 100
	// historyInFlight bounds the history queries of one request.
	historyInFlight = 4
)

// Portal is what a terminal user sees of devices: their own, with the
// orders they raised for each, and what a scanned QR code names. Its
// methods serve routes of the portalregister function.
type Portal struct {
	store    *Store
	scenes   *qrscene.Codec
	settings *tenant.Store
}

// NewPortal returns the portal's view of devices.
func NewPortal(store *Store, scenes *qrscene.Codec, settings *tenant.Store) *Portal {
	return &Portal{store: store, scenes: scenes, settings: settings}
}

// MyDevice is one of a user's devices with the orders they raised for it,
// newest first.
type MyDevice struct {
	SN         string      `json:"sn"`
	Model      string      `json:"model,omitempty"`
	Address    string      `json:"address"`
	ApprovedAt int64       `json:"approved_at"`
	Orders     []OrderLink `json:"orders"`
}

// Mine lists the user's devices, each with the orders the user raised for
// it among its OwnHistoryDepth newest (a device taken over from someone
// else never shows that person's orders).
func (p *Portal) Mine(ctx context.Context, tenantID, userID string) ([]MyDevice, error) {
	entries, err := p.store.OwnedBy(ctx, tenantID, userID, MaxOwnedListed)
	if err != nil {
		return nil, err
	}
	out := make([]MyDevice, len(entries))
	err = InParallel(ctx, len(entries), historyInFlight, func(ctx context.Context, i int) error {
		e := entries[i]
		links, _, err := p.store.History(ctx, tenantID, e.SN, OwnHistoryDepth, nil)
		if err != nil {
			return err
		}
		mine := []OrderLink{}
		for _, l := range links {
			if l.UserID == userID {
				l.UserID = ""
				mine = append(mine, l)
			}
		}
		if err := p.store.WithCurrentStatus(ctx, tenantID, mine); err != nil {
			return err
		}
		out[i] = MyDevice{SN: e.SN, Model: e.Model, Address: e.Address, ApprovedAt: e.ApprovedAt, Orders: mine}
		return nil
	})
	return out, err
}

// HandleMine is GET /portal/devices.
func (p *Portal) HandleMine(w http.ResponseWriter, r *http.Request, c usersession.Claims) error {
	devices, err := p.Mine(r.Context(), c.TenantID, c.UserID)
	return httpapi.Reply(w, http.StatusOK, map[string]any{"devices": devices}, err)
}

// SceneView is what a QR scene names, as the user who scanned it may see
// it: the enterprise's name and, for a device code, the device.
type SceneView struct {
	Tenant SceneTenant  `json:"tenant"`
	Device *SceneDevice `json:"device,omitempty"`
}

// SceneTenant is the enterprise a scene opens.
type SceneTenant struct {
	DisplayName string `json:"display_name"`
}

// SceneDevice is the device a scene names. Who owns it and where it is are
// not shown: anyone at the device can scan its code.
type SceneDevice struct {
	SN              string `json:"sn"`
	Model           string `json:"model,omitempty"`
	RegisteredToYou bool   `json:"registered_to_you"`
}

// sceneNotFound is the one answer to a malformed, forged, unknown or
// another tenant's scene: none tells which.
func sceneNotFound() error {
	return apperr.E(apperr.NotFound, "scene_not_found", "this QR code does not open anything here; scan it again")
}

// Scene resolves a scene for a signed-in user of its tenant.
func (p *Portal) Scene(ctx context.Context, c usersession.Claims, scene string) (SceneView, error) {
	if len(scene) > qrscene.MaxLen {
		return SceneView{}, sceneNotFound()
	}
	sc, err := p.scenes.Decode(ctx, scene)
	if errors.Is(err, qrscene.ErrInvalid) || (err == nil && sc.TenantID != c.TenantID) {
		return SceneView{}, sceneNotFound()
	}
	if err != nil {
		return SceneView{}, err
	}
	if sc.DeviceSN == "" {
		st, err := p.settings.Settings(ctx, c.TenantID)
		return SceneView{Tenant: SceneTenant{DisplayName: st.DisplayName}}, err
	}
	d, _, st, err := p.store.RecordWithSettings(ctx, c.TenantID, sc.DeviceSN)
	if err != nil {
		return SceneView{}, err
	}
	return SceneView{Tenant: SceneTenant{DisplayName: st.DisplayName}, Device: &SceneDevice{SN: Normalize(sc.DeviceSN),
		Model: d.Model, RegisteredToYou: d.Registered() && d.OwnerUserID == c.UserID}}, nil
}

// HandleScene is GET /portal/scene/{scene}.
func (p *Portal) HandleScene(w http.ResponseWriter, r *http.Request, c usersession.Claims) error {
	v, err := p.Scene(r.Context(), c, r.PathValue("scene"))
	return httpapi.Reply(w, http.StatusOK, v, err)
}

// Admin is what a tenant's admin sees of devices: the list, a search by
// serial number and one device with its history. Its methods serve routes
// of the adminportal function.
type Admin struct {
	store *Store
}

// NewAdmin returns the admin's view of devices.
func NewAdmin(store *Store) *Admin { return &Admin{store: store} }

var prefixPattern = regexp.MustCompile(`^[A-Za-z0-9-]{0,40}$`)

// pageLimit reads the limit parameter (DefaultPage when absent).
func pageLimit(r *http.Request) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return DefaultPage, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > MaxPage {
		return 0, apperr.InvalidField("limit", "between 1 and 100")
	}
	return n, nil
}

// Page is a page of the tenant's devices.
type Page struct {
	Devices    []Device `json:"devices"`
	NextCursor string   `json:"next_cursor"`
}

// List returns a page of the tenant's registered devices in serial-number
// order, those whose serial number starts with prefix ("" for all).
func (a *Admin) List(ctx context.Context, tenantID, prefix string, limit int, cursor string) (Page, error) {
	if !prefixPattern.MatchString(prefix) {
		return Page{}, apperr.InvalidField("q", "the start of a serial number: up to 40 letters, digits or dashes")
	}
	start, err := decodeCursor(cursor, "gsi1pk", listPK(tenantID), "pk", "sk", "gsi1pk", "gsi1sk")
	if err != nil {
		return Page{}, err
	}
	devices, next, err := a.store.List(ctx, tenantID, prefix, limit, start)
	if err != nil {
		return Page{}, err
	}
	out := make([]Device, 0, len(devices))
	for _, d := range devices {
		if d.Registered() { // the index may lag behind a record
			out = append(out, d)
		}
	}
	return Page{Devices: out, NextCursor: encodeCursor(next)}, nil
}

// HandleList is GET /admin/devices?q=&limit=&cursor=.
func (a *Admin) HandleList(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	limit, err := pageLimit(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	page, err := a.List(r.Context(), c.TenantID, q.Get("q"), limit, q.Get("cursor"))
	return httpapi.Reply(w, http.StatusOK, page, err)
}

// WithHistory is one device with a page of its orders, newest first.
type WithHistory struct {
	Device     Device      `json:"device"`
	Orders     []OrderLink `json:"orders"`
	NextCursor string      `json:"next_cursor"`
}

// Detail returns a registered device of the tenant with a page of the
// orders raised for it (by anyone).
func (a *Admin) Detail(ctx context.Context, tenantID, sn string, limit int, cursor string) (WithHistory, error) {
	if !ValidSN(sn) {
		return WithHistory{}, apperr.Missing("no such device")
	}
	start, err := decodeCursor(cursor, "pk", partition(tenantID, sn), "pk", "sk")
	if err != nil {
		return WithHistory{}, err
	}
	d, err := a.store.Get(ctx, tenantID, sn)
	if storage.IsNotFound(err) || (err == nil && !d.Registered()) {
		return WithHistory{}, apperr.Missing("no such device")
	}
	if err != nil {
		return WithHistory{}, err
	}
	links, next, err := a.store.History(ctx, tenantID, sn, limit, start)
	if err != nil {
		return WithHistory{}, err
	}
	if links == nil {
		links = []OrderLink{}
	}
	if err := a.store.WithCurrentStatus(ctx, tenantID, links); err != nil {
		return WithHistory{}, err
	}
	return WithHistory{Device: d, Orders: links, NextCursor: encodeCursor(next)}, nil
}

// HandleDetail is GET /admin/devices/{sn}?limit=&cursor=.
func (a *Admin) HandleDetail(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	limit, err := pageLimit(r)
	if err != nil {
		return err
	}
	detail, err := a.Detail(r.Context(), c.TenantID, r.PathValue("sn"), limit, r.URL.Query().Get("cursor"))
	return httpapi.Reply(w, http.StatusOK, detail, err)
}
