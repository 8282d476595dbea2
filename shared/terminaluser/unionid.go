package terminaluser

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/storage"
)

// One customer across a tenant's apps. WeChat gives a person one unionid
// in every app bound to the same open platform account (the tenant's mini
// program and official account, once bound together); a person signing in
// through another of the tenant's apps is a new user (user ids derive from
// the app and openid). The rule: within a tenant, users with the same
// unionid are one person; a guest among them is registered as the customer
// of a registered one. Unionids of different open accounts never match, so
// the public mini program's users (the platform's own open account) are
// never linked with a tenant's.

// personItem lists the users of a tenant who share a unionid.
type personItem struct {
	PK      string   `dynamo:"pk,hash"`
	SK      string   `dynamo:"sk,range"`
	UserIDs []string `dynamo:"user_ids,set,omitempty"`
}

// personPartition is the partition of a tenant's person with unionid.
func personPartition(tenantID, unionid string) string {
	return storage.TenantPartition(tenantID) + "#unionid#" + unionid
}

const (
	skPerson = "person"
	// maxLinkedUsers bounds the users of one person read at a sign-in: a
	// person has an account in each of a handful of apps.
	maxLinkedUsers = 20
)

// LinkByUnionID records u among the users of its unionid and, when u is a
// guest and another of them is a registered customer, registers u as that
// customer (LinkedUserID names whom it follows). A user without unionid,
// or already registered or pending, is returned unchanged.
func (s *Store) LinkByUnionID(ctx context.Context, u User, now time.Time) (User, error) {
	if u.UnionID == "" {
		return u, nil
	}
	var p personItem
	err := s.table.Update("pk", personPartition(u.TenantID, u.UnionID)).Range("sk", skPerson).AddStringsToSet("user_ids", u.UserID).
		Value(ctx, &p)
	if err != nil {
		return User{}, fmt.Errorf("link user by unionid: %w", err)
	}
	if u.Status != StatusGuest {
		return u, nil
	}
	others := slices.DeleteFunc(slices.Clone(p.UserIDs), func(id string) bool { return id == u.UserID })
	slices.Sort(others) // the same customer whichever order they signed in
	if len(others) > maxLinkedUsers {
		others = others[:maxLinkedUsers]
	}
	var keys []dynamo.Keyed
	for _, id := range others {
		keys = append(keys, ProfileKey(u.TenantID, id))
	}
	if len(keys) == 0 {
		return u, nil
	}
	var profiles []User
	if err := s.table.Batch("pk", "sk").Get(keys...).Consistent(true).All(ctx, &profiles); err != nil && !errors.Is(err, dynamo.ErrNotFound) {
		return User{}, fmt.Errorf("read the users of the unionid: %w", err)
	}
	slices.SortFunc(profiles, func(a, b User) int { return strings.Compare(a.UserID, b.UserID) })
	for _, o := range profiles {
		if o.Status != StatusRegistered || o.CustomerID == "" || o.UnionID != u.UnionID {
			continue
		}
		err := s.table.Update("pk", UserPartition(u.TenantID, u.UserID)).Range("sk", profileSK).Set("status", StatusRegistered).
			Set("customer_id", o.CustomerID).Set("linked_user_id", o.UserID).Set("linked_at", now.Unix()).
			If("'status' = ?", StatusGuest).Run(ctx)
		if dynamo.IsCondCheckFailed(err) {
			return s.Get(ctx, u.TenantID, u.UserID) // registered otherwise meanwhile
		}
		if err != nil {
			return User{}, fmt.Errorf("register the linked user: %w", err)
		}
		u.Status, u.CustomerID, u.LinkedUserID = StatusRegistered, o.CustomerID, o.UserID
		return u, nil
	}
	return u, nil
}
