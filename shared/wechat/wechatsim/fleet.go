package wechatsim

// fleetRoutes serves what the platform operator's bulk operations need
// beyond the per-mini-program APIs.
func (s *Sim) fleetRoutes() {}
