package terminaluser

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"regexp"
	"time"

	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/app"
	"wxchannel/shared/apperr"
	"wxchannel/shared/httpapi"
	"wxchannel/shared/portal"
	"wxchannel/shared/staffauth"
	"wxchannel/shared/storage"
	"wxchannel/shared/tenant"
)

// Invitation binds whoever redeems it to one of the enterprise's customers
// ("interconnection"), a limited number of times until it expires.
type Invitation struct {
	PK         string `dynamo:"pk,hash" json:"-"`
	SK         string `dynamo:"sk,range" json:"-"`
	Code       string `dynamo:"code" json:"code"`
	CustomerID string `dynamo:"customer_id" json:"customer_id"`
	MaxUses    int    `dynamo:"max_uses" json:"max_uses"`
	Uses       int    `dynamo:"uses" json:"uses"`
	ExpiresAt  int64  `dynamo:"expires_at" json:"expires_at"`
	Revoked    bool   `dynamo:"revoked" json:"revoked"`
}

// Registration is a request to register by equipment serial number, pending
// until the tenant approves it.
type Registration struct {
	PK        string  `dynamo:"pk,hash" json:"-"`
	SK        string  `dynamo:"sk,range" json:"-"`
	PendingPK string  `dynamo:"gsi1pk,omitempty" json:"-"`
	PendingSK string  `dynamo:"gsi1sk,omitempty" json:"-"`
	ID        string  `dynamo:"id" json:"id"`
	UserID    string  `dynamo:"user_id" json:"user_id"`
	DeviceSN  string  `dynamo:"device_sn" json:"device_sn"`
	Latitude  float64 `dynamo:"latitude" json:"latitude"`
	Longitude float64 `dynamo:"longitude" json:"longitude"`
	Address   string  `dynamo:"address" json:"address"`
	Status    string  `dynamo:"status" json:"status"`
	CreatedAt int64   `dynamo:"created_at" json:"created_at"`
}

var (
	serialPattern     = regexp.MustCompile(`^[A-Za-z0-9-]{4,40}$`)
	invitationPattern = regexp.MustCompile(`^[A-Z0-9]{8}$`)
	customerPattern   = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
)

func tenantPK(t string) string { return "tenant#" + t }

const codeAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

func newCode() string {
	b := make([]byte, 8)
	for i := range b {
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(codeAlphabet))))
		b[i] = codeAlphabet[n.Int64()]
	}
	return string(b)
}

// NewRegistrationHandler builds the portalregister function's handler.
func NewRegistrationHandler(ctx context.Context, d *app.Deps) (*httpapi.Router, error) {
	s := NewStore(d.DB)
	sessions := portal.NewSessions(d)
	settings := tenant.NewStore(d.DB)
	rt := httpapi.NewRouter(d.Log)
	user := func(h func(w http.ResponseWriter, r *http.Request, u User, st tenant.Settings) error) httpapi.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) error {
			c, err := sessions.Authenticate(r)
			if err != nil {
				return err
			}
			u, err := s.Get(r.Context(), c.TenantID, c.UserID)
			if err != nil {
				return apperr.E(apperr.Unauthenticated, "invalid_session", "log in again")
			}
			st, err := settings.Settings(r.Context(), c.TenantID)
			if err != nil {
				return err
			}
			return h(w, r, u, st)
		}
	}
	rt.Handle("GET /portal/me", user(func(w http.ResponseWriter, r *http.Request, u User, st tenant.Settings) error {
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"user": u, "access": publicSettings(st), "can_create_work_orders": CanCreate(st, u)})
		return nil
	}))
	rt.Handle("POST /portal/registration/invitation", user(func(w http.ResponseWriter, r *http.Request, u User, st tenant.Settings) error {
		var req struct {
			Code string `json:"code"`
		}
		if err := httpapi.DecodeJSON(r, &req, 1<<10); err != nil {
			return err
		}
		if !st.InvitationCodes {
			return apperr.E(apperr.Forbidden, "registration_mode_disabled", "this enterprise does not register with invitation codes")
		}
		if !invitationPattern.MatchString(req.Code) {
			return apperr.InvalidField("code", "an invitation code has 8 letters and digits")
		}
		out, err := s.redeem(r.Context(), u, req.Code, d.Now())
		if err != nil {
			return err
		}
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"user": out})
		return nil
	}))
	rt.Handle("POST /portal/registration/device", user(func(w http.ResponseWriter, r *http.Request, u User, st tenant.Settings) error {
		var req struct {
			DeviceSN  string  `json:"device_sn"`
			Latitude  float64 `json:"latitude"`
			Longitude float64 `json:"longitude"`
			Address   string  `json:"address"`
		}
		if err := httpapi.DecodeJSON(r, &req, 4<<10); err != nil {
			return err
		}
		if !st.SerialRegistration {
			return apperr.E(apperr.Forbidden, "registration_mode_disabled", "this enterprise does not register by equipment serial number")
		}
		if !serialPattern.MatchString(req.DeviceSN) {
			return apperr.InvalidField("device_sn", "4–40 letters, digits or dashes")
		}
		if err := ValidLocation(req.Latitude, req.Longitude); err != nil {
			return err
		}
		if n := len([]rune(req.Address)); n < 4 || n > 200 {
			return apperr.InvalidField("address", "4–200 characters")
		}
		if u.Status == StatusRegistered {
			return apperr.E(apperr.Conflict, "already_registered", "you are already registered")
		}
		now := d.Now()
		reg := Registration{PK: tenantPK(u.TenantID), SK: "registration#" + u.UserID, ID: u.UserID, UserID: u.UserID,
			DeviceSN: req.DeviceSN, Latitude: req.Latitude, Longitude: req.Longitude, Address: req.Address,
			Status: StatusPending, CreatedAt: now.Unix(),
			PendingPK: tenantPK(u.TenantID) + "#registrations#pending", PendingSK: fmt.Sprintf("%012d#%s", now.Unix(), u.UserID)}
		tx := d.DB.Dynamo.WriteTx()
		tx.Put(d.DB.Service.Put(reg).If("attribute_not_exists('pk') OR 'status' <> ?", StatusApproved))
		tx.Update(d.DB.Service.Update("pk", userPK(u.TenantID, u.UserID)).Range("sk", "profile").
			Set("status", StatusPending).Set("device_sn", req.DeviceSN).If("'status' <> ?", StatusRegistered))
		if err := tx.Run(r.Context()); err != nil {
			if dynamo.IsCondCheckFailed(err) {
				return apperr.E(apperr.Conflict, "already_registered", "you are already registered")
			}
			return err
		}
		httpapi.WriteJSON(w, http.StatusAccepted, reg)
		return nil
	}))
	return rt, nil
}

// StatusApproved marks an approved registration.
const StatusApproved = "approved"

// ValidLocation checks a WGS-84 / GCJ-02 coordinate pair.
func ValidLocation(lat, lng float64) error {
	if lat < -90 || lat > 90 || lat != lat {
		return apperr.InvalidField("latitude", "between -90 and 90")
	}
	if lng < -180 || lng > 180 || lng != lng {
		return apperr.InvalidField("longitude", "between -180 and 180")
	}
	if lat == 0 && lng == 0 {
		return apperr.InvalidField("latitude", "the location is missing (0,0)")
	}
	return nil
}

// redeem uses one invitation and registers the user, in one transaction.
func (s *Store) redeem(ctx context.Context, u User, code string, now time.Time) (User, error) {
	var inv Invitation
	err := s.table.Get("pk", tenantPK(u.TenantID)).Range("sk", dynamo.Equal, "invitation#"+code).Consistent(true).One(ctx, &inv)
	if errors.Is(storage.TranslateErr(err), storage.ErrNotFound) {
		return User{}, apperr.Missing("no such invitation code")
	}
	if err != nil {
		return User{}, err
	}
	switch {
	case inv.Revoked:
		return User{}, apperr.E(apperr.Conflict, "invitation_revoked", "this invitation code was revoked")
	case now.Unix() >= inv.ExpiresAt:
		return User{}, apperr.E(apperr.Conflict, "invitation_expired", "this invitation code has expired")
	case inv.Uses >= inv.MaxUses:
		return User{}, apperr.E(apperr.Conflict, "invitation_used_up", "this invitation code has been used up")
	case u.Status == StatusRegistered:
		return User{}, apperr.E(apperr.Conflict, "already_registered", "you are already registered")
	}
	tx := s.db.Dynamo.WriteTx()
	tx.Update(s.table.Update("pk", tenantPK(u.TenantID)).Range("sk", "invitation#"+code).Add("uses", 1).
		If("'uses' < 'max_uses' AND 'revoked' = ? AND 'expires_at' > ?", false, now.Unix()))
	tx.Update(s.table.Update("pk", userPK(u.TenantID, u.UserID)).Range("sk", "profile").
		Set("status", StatusRegistered).Set("customer_id", inv.CustomerID).If("'status' <> ?", StatusRegistered))
	if err := tx.Run(ctx); err != nil {
		if dynamo.IsCondCheckFailed(err) {
			return User{}, apperr.E(apperr.Conflict, "invitation_unavailable", "this invitation code can no longer be used")
		}
		return User{}, err
	}
	u.Status, u.CustomerID = StatusRegistered, inv.CustomerID
	return u, nil
}

// NewAdminHandler builds the adminportal function's handler: invitations,
// registration approvals and QR scenes.
func NewAdminHandler(ctx context.Context, d *app.Deps) (*httpapi.Router, error) {
	auth := staffauth.NewVerifier(d)
	sessions := portal.NewSessions(d)
	rt := httpapi.NewRouter(d.Log)
	admin := func(h staffauth.StaffHandler) httpapi.HandlerFunc { return auth.Require(h, staffauth.RoleAdmin) }
	rt.Handle("POST /admin/invitations", admin(func(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
		var req struct {
			CustomerID    string `json:"customer_id"`
			MaxUses       int    `json:"max_uses"`
			ExpiresInDays int    `json:"expires_in_days"`
		}
		if err := httpapi.DecodeJSON(r, &req, 1<<10); err != nil {
			return err
		}
		if !customerPattern.MatchString(req.CustomerID) {
			return apperr.InvalidField("customer_id", "1–64 letters, digits, _ or -")
		}
		if req.MaxUses < 1 || req.MaxUses > 10000 {
			return apperr.InvalidField("max_uses", "between 1 and 10000")
		}
		if req.ExpiresInDays < 1 || req.ExpiresInDays > 365 {
			return apperr.InvalidField("expires_in_days", "between 1 and 365")
		}
		inv := Invitation{PK: tenantPK(c.TenantID), Code: newCode(), CustomerID: req.CustomerID, MaxUses: req.MaxUses,
			ExpiresAt: d.Now().Add(time.Duration(req.ExpiresInDays) * 24 * time.Hour).Unix()}
		inv.SK = "invitation#" + inv.Code
		if err := d.DB.Service.Put(inv).If("attribute_not_exists('pk')").Run(r.Context()); err != nil {
			return err
		}
		httpapi.WriteJSON(w, http.StatusCreated, inv)
		return nil
	}))
	rt.Handle("DELETE /admin/invitations/{code}", admin(func(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
		code := r.PathValue("code")
		if !invitationPattern.MatchString(code) {
			return apperr.Missing("no such invitation code")
		}
		err := d.DB.Service.Update("pk", tenantPK(c.TenantID)).Range("sk", "invitation#"+code).Set("revoked", true).
			If("attribute_exists('pk')").Run(r.Context())
		if dynamo.IsCondCheckFailed(err) {
			return apperr.Missing("no such invitation code")
		}
		if err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}))
	rt.Handle("GET /admin/registrations", admin(func(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
		var out []Registration
		err := d.DB.Service.Get("gsi1pk", tenantPK(c.TenantID)+"#registrations#pending").Index(storage.IndexGSI1).
			Limit(100).All(r.Context(), &out)
		if err != nil {
			return err
		}
		pending := []Registration{}
		for _, reg := range out {
			if reg.Status == StatusPending { // index reads lag behind approvals
				pending = append(pending, reg)
			}
		}
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"pending": pending})
		return nil
	}))
	rt.Handle("POST /admin/registrations/{id}/approve", admin(func(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
		id := r.PathValue("id")
		tx := d.DB.Dynamo.WriteTx()
		tx.Update(d.DB.Service.Update("pk", tenantPK(c.TenantID)).Range("sk", "registration#"+id).
			Set("status", StatusApproved).Remove("gsi1pk", "gsi1sk").If("'status' = ?", StatusPending))
		tx.Update(d.DB.Service.Update("pk", userPK(c.TenantID, id)).Range("sk", "profile").
			Set("status", StatusRegistered).If("attribute_exists('pk')"))
		err := tx.Run(r.Context())
		if dynamo.IsCondCheckFailed(err) {
			return apperr.Missing("no pending registration with this id")
		}
		if err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}))
	rt.Handle("POST /admin/qr-scenes", admin(func(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
		var req struct {
			DeviceSN string `json:"device_sn"`
		}
		if err := httpapi.DecodeJSON(r, &req, 1<<10); err != nil {
			return err
		}
		if req.DeviceSN != "" && !serialPattern.MatchString(req.DeviceSN) {
			return apperr.InvalidField("device_sn", "4–40 letters, digits or dashes")
		}
		scene, err := sessions.EncodeScene(r.Context(), c.TenantID, req.DeviceSN)
		if err != nil {
			return err
		}
		httpapi.WriteJSON(w, http.StatusCreated, map[string]string{"scene": scene, "page": "pages/portal/index"})
		return nil
	}))
	return rt, nil
}
