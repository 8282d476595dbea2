package authorization

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/storage"
)

// RegistrationStatus is where a tenant's enterprise registration stands.
type RegistrationStatus string

// Registration statuses: pending until WeChat pushes the outcome.
const (
	RegistrationPending   RegistrationStatus = "pending"
	RegistrationSucceeded RegistrationStatus = "succeeded"
	RegistrationFailed    RegistrationStatus = "failed"
)

// registrationTransitions lists the moves a registration makes: a pending
// one settles once, a settled one is replaced by a new registration.
var registrationTransitions = map[RegistrationStatus][]RegistrationStatus{
	RegistrationPending:   {RegistrationSucceeded, RegistrationFailed},
	RegistrationSucceeded: {RegistrationPending},
	RegistrationFailed:    {RegistrationPending},
}

// RegistrationTask is a tenant's latest enterprise registration
// (快速注册企业小程序), under the tenant's partition.
type RegistrationTask struct {
	PK                 string             `dynamo:"pk,hash" json:"-"`
	SK                 string             `dynamo:"sk,range" json:"-"`
	TenantID           string             `dynamo:"tenant_id" json:"-"`
	Key                string             `dynamo:"registration_key" json:"-"`
	Status             RegistrationStatus `dynamo:"status" json:"status"`
	Name               string             `dynamo:"name" json:"name"`
	Code               string             `dynamo:"code" json:"code"`
	CodeType           int                `dynamo:"code_type" json:"code_type"`
	LegalPersonaWechat string             `dynamo:"legal_persona_wechat" json:"legal_persona_wechat"`
	LegalPersonaName   string             `dynamo:"legal_persona_name" json:"legal_persona_name"`
	ComponentPhone     string             `dynamo:"component_phone,omitempty" json:"component_phone,omitempty"`
	CreatedAt          int64              `dynamo:"created_at" json:"created_at"`
	UpdatedAt          int64              `dynamo:"updated_at" json:"updated_at"`
	// AppID is the registered mini program; WeChatStatus the push's status.
	AppID        string   `dynamo:"appid,omitempty" json:"appid,omitempty"`
	WeChatStatus int      `dynamo:"wechat_status,omitempty" json:"wechat_status,omitempty"`
	Problem      *Problem `dynamo:"problem,omitempty" json:"problem,omitempty"`
}

// registrationLink maps a registration (its partition, which the push
// names) to the tenant that asked for it.
type registrationLink struct {
	PK       string `dynamo:"pk,hash"`
	SK       string `dynamo:"sk,range"`
	TenantID string `dynamo:"tenant_id"`
	Pending  bool   `dynamo:"pending"`
	TTL      int64  `dynamo:"ttl"`
}

const (
	skRegistration     = "fastregistration"
	skRegistrationLink = "task"
	// registrationStale is when a pending registration may be replaced:
	// WeChat gives the legal representative 24 hours, and answers 89249
	// to a second task of the principal before then.
	registrationStale = 25 * time.Hour
	// registrationLinkFor keeps the link past any push of the registration.
	registrationLinkFor = 30 * 24 * time.Hour
)

// startRegistration writes a pending registration of the tenant and its
// link in one transaction: refused while the tenant has a pending one not
// yet stale, or while another tenant's registration of the same company
// and legal representative is pending.
func (s *Store) startRegistration(ctx context.Context, t RegistrationTask, now time.Time) error {
	t.PK, t.SK = tenantPK(t.TenantID), skRegistration
	tx := s.db.Dynamo.WriteTx()
	tx.Put(s.table.Put(t).If("attribute_not_exists('pk') OR 'status' <> ? OR 'created_at' < ?", RegistrationPending,
		now.Add(-registrationStale).Unix()))
	tx.Put(s.table.Put(registrationLink{PK: t.Key, SK: skRegistrationLink, TenantID: t.TenantID, Pending: true,
		TTL: now.Add(registrationLinkFor).Unix()}).If("attribute_not_exists('pk') OR 'tenant_id' = ? OR 'pending' = ?", t.TenantID, false))
	return storage.TranslateErr(tx.Run(ctx))
}

// settleRegistration records a pending registration's outcome and frees
// its link, in one transaction; storage.ErrConflict when it was settled
// already (a repeated push) or replaced.
func (s *Store) settleRegistration(ctx context.Context, t RegistrationTask, now time.Time) error {
	if !slices.Contains(registrationTransitions[RegistrationPending], t.Status) {
		return fmt.Errorf("registration cannot move from %s to %s", RegistrationPending, t.Status)
	}
	tx := s.db.Dynamo.WriteTx()
	u := s.table.Update("pk", tenantPK(t.TenantID)).Range("sk", skRegistration).Set("status", t.Status).Set("updated_at", now.Unix()).
		If("'status' = ? AND 'registration_key' = ?", RegistrationPending, t.Key)
	if t.AppID != "" {
		u = u.Set("appid", t.AppID)
	}
	if t.WeChatStatus != 0 {
		u = u.Set("wechat_status", t.WeChatStatus)
	}
	if t.Problem != nil {
		u = u.Set("problem", t.Problem)
	}
	tx.Update(u)
	tx.Update(s.table.Update("pk", t.Key).Range("sk", skRegistrationLink).Set("pending", false).If("'tenant_id' = ?", t.TenantID))
	return storage.TranslateErr(tx.Run(ctx))
}

// Registration is the tenant's latest enterprise registration.
func (s *Store) Registration(ctx context.Context, tenantID string) (RegistrationTask, error) {
	var t RegistrationTask
	err := s.table.Get("pk", tenantPK(tenantID)).Range("sk", dynamo.Equal, skRegistration).Consistent(true).One(ctx, &t)
	return t, storage.TranslateErr(err)
}

func (s *Store) registrationLink(ctx context.Context, key string) (registrationLink, error) {
	var l registrationLink
	err := s.table.Get("pk", key).Range("sk", dynamo.Equal, skRegistrationLink).Consistent(true).One(ctx, &l)
	return l, storage.TranslateErr(err)
}

// FastRegisterState is where a quick registration from the official
// account stands: issued with its link, registering once WeChat's page
// came back with a ticket, registered once WeChat created the mini program
// (its code not yet exchanged), done with its outcome.
type FastRegisterState string

// Quick registration (official account) states.
const (
	fastRegIssued      FastRegisterState = "issued"
	fastRegRegistering FastRegisterState = "registering"
	fastRegRegistered  FastRegisterState = "registered"
	fastRegDone        FastRegisterState = "done"
)

// fastRegTransitions lists the moves of a quick registration's state: a
// failed call frees the link for another try.
var fastRegTransitions = map[FastRegisterState][]FastRegisterState{
	fastRegIssued:      {fastRegRegistering},
	fastRegRegistering: {fastRegRegistered, fastRegDone, fastRegIssued},
	fastRegRegistered:  {fastRegDone},
}

// fastRegItem is one quick registration link from the official account:
// single use, bound to the first ticket WeChat's page brings back.
type fastRegItem struct {
	PK         string            `dynamo:"pk,hash"`
	SK         string            `dynamo:"sk,range"`
	TenantID   string            `dynamo:"tenant_id"`
	OAAppID    string            `dynamo:"oa_appid"`
	State      FastRegisterState `dynamo:"state"`
	TicketHash string            `dynamo:"ticket_hash,omitempty"`
	AppID      string            `dynamo:"appid,omitempty"`
	// AuthCode is the new mini program's authorization code between
	// WeChat's reply and its exchange, so a retry finishes the binding.
	AuthCode string    `dynamo:"auth_code,omitempty"`
	Bound    bool      `dynamo:"bound"`
	Problems []Problem `dynamo:"problems,omitempty"`
	TTL      int64     `dynamo:"ttl"`
}

func fastRegPK(nonce string) string { return "fastregstate#" + nonce }

const skFlow = "flow"

func (s *Store) putFastReg(ctx context.Context, it fastRegItem) error {
	return s.table.Put(it).If("attribute_not_exists('pk')").Run(ctx)
}

// claimFastReg moves an issued link to registering with the ticket, once;
// storage.ErrConflict when it is not issued (any more).
func (s *Store) claimFastReg(ctx context.Context, nonce, tenantID, ticketHash string) error {
	err := s.table.Update("pk", fastRegPK(nonce)).Range("sk", skFlow).Set("state", fastRegRegistering).Set("ticket_hash", ticketHash).
		If("'tenant_id' = ? AND 'state' = ?", tenantID, fastRegIssued).Run(ctx)
	return storage.TranslateErr(err)
}

func (s *Store) fastReg(ctx context.Context, nonce string) (fastRegItem, error) {
	var it fastRegItem
	err := s.table.Get("pk", fastRegPK(nonce)).Range("sk", dynamo.Equal, skFlow).Consistent(true).One(ctx, &it)
	return it, storage.TranslateErr(err)
}

// moveFastReg changes the state of the link held by ticketHash from one
// state to the next, setting what next records.
func (s *Store) moveFastReg(ctx context.Context, nonce, ticketHash string, from, to FastRegisterState,
	set func(*dynamo.Update) *dynamo.Update,
) error {
	if !slices.Contains(fastRegTransitions[from], to) {
		return fmt.Errorf("quick registration cannot move from %s to %s", from, to)
	}
	u := s.table.Update("pk", fastRegPK(nonce)).Range("sk", skFlow).Set("state", to).
		If("'state' = ? AND 'ticket_hash' = ?", from, ticketHash)
	if to == fastRegIssued {
		u = u.Remove("ticket_hash")
	}
	if set != nil {
		u = set(u)
	}
	return storage.TranslateErr(u.Run(ctx))
}
