package tenant

import (
	"fmt"
	"regexp"
	"sync"
	"time"

	// Lambda's provided.al2023 runtime has no /usr/share/zoneinfo, so
	// time.LoadLocation would fail there for every zone but UTC: the zone
	// database is compiled into the binaries that load tenants' zones
	// (about 450 KB), and the system's copy is still preferred where it
	// exists (the dev server, the tests).
	_ "time/tzdata"
)

// Defaults and bounds of the field-work settings.
const (
	DefaultTimeZone = "Asia/Shanghai"
	// MaxCheckinDistanceLimitM bounds the check-in radius. A phone's fix
	// is within tens of metres outdoors and a few hundred indoors (Wi-Fi
	// and cell positioning); 2 km still covers a large plant or a poor
	// fix, while anything wider no longer says the engineer is on site
	// (it used to go up to 50 km, and a check-in 50 km from the site
	// counted as a visit).
	MaxCheckinDistanceLimitM      = 2000
	DefaultMaxCheckoutDistanceM   = 1000
	MaxCheckoutDistanceLimitM     = 20000
	DefaultMaxCheckinsPerDay      = 20
	MaxCheckinsPerDayLimit        = 100
	DefaultAutoCheckoutHours      = 12
	MinAutoCheckoutHours          = 1
	MaxAutoCheckoutHours          = 72
	MaxMileageRateFenPerKm        = 10000
	maxTimeZoneLen                = 64
	minCheckinOrCheckoutDistanceM = 50
)

// FieldWork are the settings of engineers' visits and mileage. A field
// left out (zero) when saving takes its default, and settings saved before
// a field existed read with its default too; MileageRateFenPerKm's zero is
// meaningful (no rate set: amounts are 0).
type FieldWork struct {
	// TimeZone is the IANA zone the tenant's days are counted in: visits
	// are filed under the local date of their check-in, and mileage,
	// check-in limits and reports group by it.
	TimeZone string `dynamo:"time_zone" json:"time_zone"`
	// MaxCheckoutDistanceM: a check-out farther than this from the site
	// is accepted (engineers may leave before checking out) but stored
	// with its distance and flagged checkout_far for the admin.
	MaxCheckoutDistanceM int `dynamo:"max_checkout_distance_m" json:"max_checkout_distance_m"`
	// MaxCheckinsPerDay bounds one engineer's check-ins per local day.
	MaxCheckinsPerDay int `dynamo:"max_checkins_per_day" json:"max_checkins_per_day"`
	// AutoCheckoutHours closes a visit left open this long, flagged
	// auto_closed; the hours in force at check-in apply.
	AutoCheckoutHours int `dynamo:"auto_checkout_hours" json:"auto_checkout_hours"`
	// MileageRateFenPerKm is the reimbursement per km, in fen (0.01 CNY).
	MileageRateFenPerKm int `dynamo:"mileage_rate_fen_per_km" json:"mileage_rate_fen_per_km"`
}

// DefaultFieldWork returns the field-work settings of a tenant that chose none.
func DefaultFieldWork() FieldWork {
	return FieldWork{TimeZone: DefaultTimeZone, MaxCheckoutDistanceM: DefaultMaxCheckoutDistanceM,
		MaxCheckinsPerDay: DefaultMaxCheckinsPerDay, AutoCheckoutHours: DefaultAutoCheckoutHours}
}

// withDefaults fills the fields left zero with their defaults.
func (f FieldWork) withDefaults() FieldWork {
	d := DefaultFieldWork()
	if f.TimeZone == "" {
		f.TimeZone = d.TimeZone
	}
	if f.MaxCheckoutDistanceM == 0 {
		f.MaxCheckoutDistanceM = d.MaxCheckoutDistanceM
	}
	if f.MaxCheckinsPerDay == 0 {
		f.MaxCheckinsPerDay = d.MaxCheckinsPerDay
	}
	if f.AutoCheckoutHours == 0 {
		f.AutoCheckoutHours = d.AutoCheckoutHours
	}
	return f
}

// zonePattern admits IANA names (Asia/Shanghai, America/Argentina/Buenos_Aires,
// Etc/GMT+8, UTC) and nothing path-like before LoadLocation sees it.
var zonePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$`)

// validateFieldWork checks the field-work settings an admin saves, defaults filled.
func (f *FieldWork) validateFieldWork() error {
	*f = f.withDefaults()
	if len(f.TimeZone) > maxTimeZoneLen || !zonePattern.MatchString(f.TimeZone) || f.TimeZone == "Local" {
		return fmt.Errorf("time_zone: an IANA time zone name such as %s", DefaultTimeZone)
	}
	if _, err := time.LoadLocation(f.TimeZone); err != nil {
		return fmt.Errorf("time_zone: unknown time zone %q", f.TimeZone)
	}
	switch {
	case f.MaxCheckoutDistanceM < minCheckinOrCheckoutDistanceM || f.MaxCheckoutDistanceM > MaxCheckoutDistanceLimitM:
		return fmt.Errorf("max_checkout_distance_m: between %d and %d", minCheckinOrCheckoutDistanceM, MaxCheckoutDistanceLimitM)
	case f.MaxCheckinsPerDay < 1 || f.MaxCheckinsPerDay > MaxCheckinsPerDayLimit:
		return fmt.Errorf("max_checkins_per_day: between 1 and %d", MaxCheckinsPerDayLimit)
	case f.AutoCheckoutHours < MinAutoCheckoutHours || f.AutoCheckoutHours > MaxAutoCheckoutHours:
		return fmt.Errorf("auto_checkout_hours: between %d and %d", MinAutoCheckoutHours, MaxAutoCheckoutHours)
	case f.MileageRateFenPerKm < 0 || f.MileageRateFenPerKm > MaxMileageRateFenPerKm:
		return fmt.Errorf("mileage_rate_fen_per_km: between 0 and %d (fen per km)", MaxMileageRateFenPerKm)
	}
	return nil
}

// zones caches loaded zones by name: LoadLocation parses the zone's file
// each time.
var zones sync.Map

// Location returns the tenant's time zone. Saved names were validated; one
// that no longer loads (removed from the zone database) falls back to the
// default zone rather than failing every visit.
func (f FieldWork) Location() *time.Location {
	name := f.TimeZone
	if name == "" {
		name = DefaultTimeZone
	}
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		if name == DefaultTimeZone {
			return time.FixedZone("CST", 8*60*60) // cannot happen: the database is embedded
		}
		return FieldWork{}.Location()
	}
	zones.Store(name, loc)
	return loc
}

// AutoCheckoutAfter is how long a visit may stay open.
func (f FieldWork) AutoCheckoutAfter() time.Duration {
	return time.Duration(f.withDefaults().AutoCheckoutHours) * time.Hour
}
