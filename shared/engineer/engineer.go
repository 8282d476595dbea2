// Package engineer keeps each tenant's directory of engineers: the staff
// its admin assigns work orders to and whose names orders show, known
// whether or not one of their tokens has been seen yet.
package engineer

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"wxchannel/shared/apperr"
	"wxchannel/shared/textfield"
)

// Bounds of the directory and of an entry.
const (
	// MaxIDLen bounds an engineer's id, the subject of their staff token,
	// as the work orders bound it where it becomes part of a key.
	MaxIDLen = 128
	// MaxEngineers is how many engineers a tenant's directory holds,
	// deactivated ones included (they are never deleted).
	MaxEngineers = 1000
	// MaxSkills bounds an engineer's skills.
	MaxSkills = 20
)

// Engineer is one entry of a tenant's directory. An engineer who leaves is
// deactivated, never deleted, so the orders and visits they worked on keep
// their name.
type Engineer struct {
	// ID is the subject of the engineer's staff token.
	ID          string `dynamo:"id" json:"id"`
	DisplayName string `dynamo:"display_name" json:"display_name"`
	// Phone is an 11-digit mainland mobile number, or empty.
	Phone string `dynamo:"phone,omitempty" json:"phone"`
	// Skills are the work-order categories the engineer takes, sorted.
	Skills []string `dynamo:"skills,omitempty" json:"skills"`
	Active bool     `dynamo:"active" json:"active"`
	// Version increases with every saved change (optimistic concurrency).
	Version int `dynamo:"version" json:"version"`
	// UpdatedAt is the time of the last change, in Unix seconds.
	UpdatedAt int64 `dynamo:"updated_at" json:"updated_at"`
}

// normalized returns e as it is answered: skills are a list, never null.
func (e Engineer) normalized() Engineer {
	if e.Skills == nil {
		e.Skills = []string{}
	}
	return e
}

// ValidID reports whether id can name an engineer: the same rule the work
// orders apply to the staff token's subject (1–MaxIDLen bytes without
// control characters), and valid UTF-8 as every key must be.
func ValidID(id string) bool {
	return id != "" && len(id) <= MaxIDLen && utf8.ValidString(id) &&
		!strings.ContainsFunc(id, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

func invalidID() error {
	return apperr.InvalidField("id", fmt.Sprintf("1–%d bytes of text without control characters", MaxIDLen))
}

var (
	displayNameText = textfield.Line(1, 40)
	phonePattern    = regexp.MustCompile(`^1[3-9][0-9]{9}$`)
	skillPattern    = regexp.MustCompile(`^[a-z0-9_-]{1,32}$`)
)

// PutRequest creates or replaces an engineer's entry.
type PutRequest struct {
	// ID comes from the route, never from the body.
	ID          string   `json:"-"`
	DisplayName string   `json:"display_name"`
	Phone       string   `json:"phone"`
	Skills      []string `json:"skills"`
	// Active is true when absent.
	Active *bool `json:"active"`
	// Version is the version read, or 0 to create.
	Version int `json:"version"`
}

// Validate checks every field, returns the first problem and leaves the
// request as it is stored: the display name cleaned, the skills sorted
// without duplicates.
//
// validSkill says whether a skill names a work-order category. The
// categories belong to the work orders, which use this package, so the
// caller that knows them passes the check in; nil checks only a skill's
// form (1–32 of a-z, 0-9, '_' and '-').
func (r *PutRequest) Validate(validSkill func(string) bool) error {
	if !ValidID(r.ID) {
		return invalidID()
	}
	name, err := displayNameText.Clean(r.DisplayName)
	if err != nil {
		return apperr.InvalidField("display_name", err.Error())
	}
	r.DisplayName = name
	if r.Phone != "" && !phonePattern.MatchString(r.Phone) {
		return apperr.InvalidField("phone", "an 11-digit mainland mobile number, or empty")
	}
	if err := r.validateSkills(validSkill); err != nil {
		return err
	}
	if r.Version < 0 {
		return apperr.InvalidField("version", "the version read, or 0 to create")
	}
	return nil
}

func (r *PutRequest) validateSkills(validSkill func(string) bool) error {
	if len(r.Skills) > MaxSkills {
		return apperr.InvalidField("skills", fmt.Sprintf("at most %d", MaxSkills))
	}
	for i, s := range r.Skills {
		if !skillPattern.MatchString(s) || (validSkill != nil && !validSkill(s)) {
			return apperr.InvalidField(fmt.Sprintf("skills[%d]", i), "not a work-order category")
		}
	}
	r.Skills = slices.Compact(slices.Sorted(slices.Values(r.Skills)))
	return nil
}

// entry is the engineer r describes, as version r.Version+1 saved at
// updatedAt.
func (r PutRequest) entry(updatedAt int64) Engineer {
	return Engineer{ID: r.ID, DisplayName: r.DisplayName, Phone: r.Phone, Skills: r.Skills,
		Active: r.Active == nil || *r.Active, Version: r.Version + 1, UpdatedAt: updatedAt}.normalized()
}
