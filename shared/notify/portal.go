package notify

import (
	"context"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/app"
	"wxchannel/shared/apperr"
	"wxchannel/shared/httpapi"
	"wxchannel/shared/terminaluser"
	"wxchannel/shared/usersession"
)

// MaxRequest is how many templates one wx.requestSubscribeMessage may ask
// about.
const MaxRequest = 3

// Subscription is one kind as the mini program sees it: the template to
// ask about, whether the tenant has it on, and the grants the user holds.
type Subscription struct {
	Kind       Kind   `json:"kind"`
	TemplateID string `json:"template_id"`
	Title      string `json:"title"`
	On         bool   `json:"on"`
	Grants     int    `json:"grants"`
}

// Subscriptions is the user's subscription state: every kind the mini
// program has a template for, and the template ids to ask about next (at
// most MaxRequest: the kinds that are on and that the user holds no grant
// of, in the order of Kinds).
type Subscriptions struct {
	Templates   []Subscription `json:"templates"`
	RequestNext []string       `json:"request_next"`
}

// subscriptions is v's subscription state.
func (v userView) subscriptions() Subscriptions {
	out := Subscriptions{Templates: []Subscription{}, RequestNext: []string{}}
	for _, k := range Kinds {
		t, ok := v.templates.Of(k)
		if !ok {
			continue
		}
		s := Subscription{Kind: k, TemplateID: t.ID, Title: t.Title, On: v.settings.On(k), Grants: v.grants[t.ID]}
		out.Templates = append(out.Templates, s)
		if s.On && s.Grants == 0 && len(out.RequestNext) < MaxRequest {
			out.RequestNext = append(out.RequestNext, t.ID)
		}
	}
	return out
}

// Portal serves the user's side: what to ask for, what they accepted, and
// the in-app feed.
type Portal struct {
	store     *Store
	sessions  *usersession.Sessions
	publicApp string
	now       func() time.Time
}

// NewPortal returns the user's side over the store.
func NewPortal(store *Store, sessions *usersession.Sessions, publicApp string, now func() time.Time) *Portal {
	return &Portal{store: store, sessions: sessions, publicApp: publicApp, now: now}
}

// PortalFromDeps builds the user's side at a function's edge.
func PortalFromDeps(d *app.Deps) *Portal {
	return NewPortal(NewStore(d.DB), usersession.FromDeps(d), d.Config.PublicAppID, d.Now)
}

// RequestNext is what the mini program should ask the user to accept next
// (the order-create answer carries it).
func (p *Portal) RequestNext(ctx context.Context, c usersession.Claims) (Subscriptions, error) {
	v, err := p.store.readUserView(ctx, c.TenantID, c.UserID, p.publicApp)
	if err != nil {
		return Subscriptions{}, err
	}
	return v.subscriptions(), nil
}

// MeSection is the "subscriptions" part of GET /portal/me, read in the
// page's one batch.
func (p *Portal) MeSection() terminaluser.MeSection {
	return terminaluser.MeSection{Name: "subscriptions",
		Keys: func(c usersession.Claims) []dynamo.Keyed { return viewKeys(c.TenantID, c.UserID, p.publicApp) },
		Build: func(items []dynamo.Item) (any, error) {
			v, err := decodeView(items)
			if err != nil {
				return nil, err
			}
			return v.subscriptions(), nil
		}}
}

// WithPortal adds the subscription and feed routes to the portalregister
// function (the user's own view), whose GET /portal/me gains the
// subscriptions.
func WithPortal(ctx context.Context, d *app.Deps) (*httpapi.Router, error) {
	p := PortalFromDeps(d)
	rt, err := terminaluser.NewRegistrationHandlerWith(p.MeSection())(ctx, d)
	if err != nil {
		return nil, err
	}
	return p.routes(rt), nil
}

func (p *Portal) routes(rt *httpapi.Router) *httpapi.Router {
	rt.Handle("GET /portal/subscriptions", p.sessions.Require(p.handleGet))
	rt.Handle("POST /portal/subscriptions", p.sessions.Require(p.handleRecord))
	rt.Handle("GET /portal/notifications", p.sessions.Require(p.handleFeed))
	rt.Handle("POST /portal/notifications/read", p.sessions.Require(p.handleRead))
	return rt
}

func (p *Portal) view(ctx context.Context, c usersession.Claims) (userView, error) {
	v, err := p.store.readUserView(ctx, c.TenantID, c.UserID, p.publicApp)
	if err == nil && !v.found {
		err = apperr.E(apperr.Unauthenticated, "invalid_session", "log in again")
	}
	return v, err
}

func (p *Portal) handleGet(w http.ResponseWriter, r *http.Request, c usersession.Claims) error {
	v, err := p.view(r.Context(), c)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, v.subscriptions())
	return nil
}

// wx.requestSubscribeMessage's answer for a template.
const (
	answerAccept = "accept"
	answerReject = "reject"
	answerBan    = "ban"
	answerFilter = "filter"
)

var templateIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// handleRecord records what the user answered wx.requestSubscribeMessage:
// the body's results is the call's success result as the mini program got
// it ({"<template id>": "accept" | "reject" | "ban" | "filter",
// "errMsg": ...}). Each accept is one grant; a ban clears the template's
// grants (the user turned it off in WeChat's settings).
func (p *Portal) handleRecord(w http.ResponseWriter, r *http.Request, c usersession.Claims) error {
	var req struct {
		Results map[string]string `json:"results"`
	}
	if err := httpapi.DecodeJSON(r, &req, 2<<10); err != nil {
		return err
	}
	delete(req.Results, "errMsg")
	if len(req.Results) == 0 || len(req.Results) > MaxRequest {
		return apperr.InvalidField("results", "the answer of wx.requestSubscribeMessage for 1 to "+strconv.Itoa(MaxRequest)+" templates")
	}
	v, err := p.view(r.Context(), c)
	if err != nil {
		return err
	}
	var accepted, banned []string
	for _, id := range slices.Sorted(maps.Keys(req.Results)) {
		if !templateIDPattern.MatchString(id) {
			return apperr.InvalidField("results", "template ids as wx.requestSubscribeMessage answers them")
		}
		if _, ok := v.templates.ByID(id); !ok {
			return apperr.BadRequest("unknown_template",
				"template "+id+" is not one of this mini program's notifications: ask GET /portal/subscriptions for them")
		}
		switch req.Results[id] {
		case answerAccept:
			accepted = append(accepted, id)
		case answerBan:
			banned = append(banned, id)
		case answerReject, answerFilter:
		default:
			return apperr.InvalidField("results", "each answer is accept, reject, ban or filter")
		}
	}
	if len(accepted)+len(banned) > 0 {
		if v.grants, err = p.store.AddGrants(r.Context(), c.TenantID, c.UserID, accepted, banned, p.now()); err != nil {
			return err
		}
	}
	httpapi.WriteJSON(w, http.StatusOK, v.subscriptions())
	return nil
}

func (p *Portal) handleFeed(w http.ResponseWriter, r *http.Request, c usersession.Claims) error {
	limit := 20
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 50 {
			return apperr.InvalidField("limit", "between 1 and 50")
		}
		limit = n
	}
	page, err := p.store.Feed(r.Context(), c.TenantID, c.UserID, limit, r.URL.Query().Get("cursor"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, page)
	return nil
}

// maxMarkRead bounds the notes one request marks read.
const maxMarkRead = 50

func (p *Portal) handleRead(w http.ResponseWriter, r *http.Request, c usersession.Claims) error {
	var req struct {
		IDs []string `json:"ids"`
		All bool     `json:"all"`
	}
	if err := httpapi.DecodeJSON(r, &req, 8<<10); err != nil {
		return err
	}
	switch {
	case req.All == (len(req.IDs) > 0):
		return apperr.BadRequest("invalid_request", "give ids (1 to 50 notification ids) or all: true")
	case len(req.IDs) > maxMarkRead:
		return apperr.InvalidField("ids", "at most "+strconv.Itoa(maxMarkRead))
	}
	for _, id := range req.IDs {
		if !noteIDPattern.MatchString(id) {
			return apperr.InvalidField("ids", "notification ids from GET /portal/notifications")
		}
	}
	var err error
	if req.All {
		err = p.store.MarkAllRead(r.Context(), c.TenantID, c.UserID, p.now())
	} else {
		err = p.store.MarkRead(r.Context(), c.TenantID, c.UserID, slices.Compact(slices.Sorted(slices.Values(req.IDs))), p.now())
	}
	if err != nil {
		return err
	}
	in, err := p.store.inbox(r.Context(), c.TenantID, c.UserID)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]int{"unread": max(in.Unread, 0)})
	return nil
}
