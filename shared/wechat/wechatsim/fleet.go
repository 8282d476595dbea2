package wechatsim

// fleetRoutes serves what the platform operator's bulk operations need
// beyond the per-mini-program APIs. They use WeChat's own APIs (the
// authorizer list, the template library, commit and submit_audit), which
// the simulator already serves, so there is no route of their own.
func (s *Sim) fleetRoutes() {}

// SetDescription plays a mini program's admin changing its description
// (简介, the authorizer's signature) on mp.weixin.qq.com. An empty one
// makes its basic information incomplete: submit_audit answers 86002 for
// that mini program alone until a description is set again. It reports
// whether the simulator knows appid.
func (s *Sim) SetDescription(appid, description string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.authorizers[appid]
	if ok {
		a.Signature = description
	}
	return ok
}
