package tenant

import (
	"fmt"
	"time"
)

// Dispatch are the settings of the work-order desk: how long each
// category may take before an order is overdue, and whether engineers may
// hand orders to colleagues themselves.
type Dispatch struct {
	// SLAHours is each category's time from submission to completion, in
	// hours, at normal priority; urgent takes a quarter of it, high half,
	// low twice. A category left out has no due time.
	SLAHours map[string]int `dynamo:"sla_hours" json:"sla_hours"`
	// EngineersMayTransfer lets an engineer transfer an order assigned to
	// them to an active colleague with the category's skill; otherwise
	// only the desk reassigns.
	EngineersMayTransfer bool `dynamo:"engineers_may_transfer" json:"engineers_may_transfer"`
}

// Bounds of the dispatch settings.
const (
	MaxSLAHours      = 30 * 24
	maxSLACategories = 32
	maxCategoryLen   = 32
)

// Priorities of a work order and how they scale its SLA.
var prioritySLA = map[string]float64{"urgent": 0.25, "high": 0.5, "normal": 1, "low": 2}

// ValidPriority reports whether p is a priority.
func ValidPriority(p string) bool { _, ok := prioritySLA[p]; return ok }

// DueAt is when an order of category at priority, submitted at created,
// is due (zero when its category has no SLA).
func (d Dispatch) DueAt(category, priority string, created time.Time) time.Time {
	hours, ok := d.SLAHours[category]
	scale, known := prioritySLA[priority]
	if !ok || hours <= 0 || !known {
		return time.Time{}
	}
	return created.Add(time.Duration(float64(hours) * scale * float64(time.Hour)))
}

func (d Dispatch) validateDispatch() error {
	if len(d.SLAHours) > maxSLACategories {
		return fmt.Errorf("sla_hours: at most %d categories", maxSLACategories)
	}
	for category, hours := range d.SLAHours {
		if category == "" || len(category) > maxCategoryLen {
			return fmt.Errorf("sla_hours: category names of 1–%d bytes", maxCategoryLen)
		}
		if hours < 1 || hours > MaxSLAHours {
			return fmt.Errorf("sla_hours[%s]: between 1 and %d hours", category, MaxSLAHours)
		}
	}
	return nil
}
