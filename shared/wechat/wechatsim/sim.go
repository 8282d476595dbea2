// Package wechatsim is a WeChat simulator for tests and the dev server: it
// speaks the real protocol over HTTP (paths, JSON fields, error codes,
// encrypted and signed pushes) and keeps tokens, tickets and codes with
// their real lifetimes on a clock the caller can control.
package wechatsim

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"sync"
	"time"

	"wxchannel/shared/local/cputime"
	"wxchannel/shared/local/loopback"
	"wxchannel/shared/wxcrypt"
)

// Options configure a simulator.
type Options struct {
	ComponentAppID, ComponentSecret string
	// Token and EncodingAESKey are the platform's message crypto settings;
	// pushes are sealed with them.
	Token, EncodingAESKey string
	// Now is the simulated clock (default time.Now).
	Now func() time.Time
	// TokenTTL is the lifetime of access tokens (default 7200 s).
	TokenTTL time.Duration
	// OldTokenGrace keeps the previous token valid this long after a new
	// one is issued (default 5 min).
	OldTokenGrace time.Duration
	// TicketTTL is the lifetime of a verify ticket (default 12 h).
	TicketTTL time.Duration
	// LoginQuotaPerMinute bounds code2session calls per openid per minute
	// (default 100), answered with 45011 beyond.
	LoginQuotaPerMinute int
	// StartPageDomain is the authorization start-page domain (授权发起页域名)
	// registered in the console: the authorization page opens only from a
	// page on it and redirects only to it. Empty refuses every link.
	StartPageDomain string
	Logger          *slog.Logger
}

// Sim is the simulator. It is safe for concurrent use.
type Sim struct {
	// URL is the base URL when started with Start.
	URL string
	// releaseOps: trial testers, review quota, speed-ups, audit media.
	releaseOps *releaseOps

	opts    Options
	crypter *wxcrypt.Crypter
	mux     *http.ServeMux
	srv     *loopback.Server
	client  *http.Client
	cpu     cputime.Meter
	latency loopback.Latency

	mu           sync.Mutex
	calls        map[string]int
	faults       map[string][]fault
	tickets      map[string]time.Time // ticket → issued at
	latestTicket string
	compTokens   *tokenSet
	preAuth      map[string]time.Time // pre-auth code → expiry
	authCodes    map[string]*authCode
	authorizers  map[string]*Authorizer
	jsCodes      map[string]*jsCode
	logins       map[string][]time.Time // appid/openid → recent logins
	publicApps   map[string]string      // appid → secret
	pushURL      string
	startDomain  string
	// startDomainAt is where this machine reaches the start-page domain
	// (ServeStartPageDomainAt); authPageVisits are the simulator's
	// authorization pages opened and not yet confirmed (authpage_browser.go).
	startDomainAt  string
	authPageVisits map[string]authPageVisit
	codes          *codeMgmt
	publicTokens   map[string]*tokenSet // public appid → its access tokens

	subscriptions *subscriptions // templates, grants and sent messages (subscribe.go)
}

type fault struct {
	code  int
	delay time.Duration
}

// RotateMessageKeys plays the operator changing the message Token and the
// EncodingAESKey in WeChat's console: WeChat seals every later push with
// the new ones at once.
func (s *Sim) RotateMessageKeys(token, encodingAESKey string) error {
	c, err := wxcrypt.New(token, encodingAESKey, s.opts.ComponentAppID, "")
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.crypter = c
	s.mu.Unlock()
	return nil
}

func (s *Sim) sealer() *wxcrypt.Crypter {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.crypter
}

// New builds a simulator without listening.
func New(opts Options) (*Sim, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.TokenTTL == 0 {
		opts.TokenTTL = 7200 * time.Second
	}
	if opts.OldTokenGrace == 0 {
		opts.OldTokenGrace = 5 * time.Minute
	}
	if opts.TicketTTL == 0 {
		opts.TicketTTL = 12 * time.Hour
	}
	if opts.LoginQuotaPerMinute == 0 {
		opts.LoginQuotaPerMinute = 100
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	c, err := wxcrypt.New(opts.Token, opts.EncodingAESKey, opts.ComponentAppID, "")
	if err != nil {
		return nil, fmt.Errorf("simulator crypto: %w", err)
	}
	s := &Sim{
		opts: opts, crypter: c, mux: http.NewServeMux(), client: &http.Client{Timeout: 10 * time.Second},
		calls: map[string]int{}, faults: map[string][]fault{}, tickets: map[string]time.Time{},
		compTokens: newTokenSet(), preAuth: map[string]time.Time{}, authCodes: map[string]*authCode{},
		authorizers: map[string]*Authorizer{}, jsCodes: map[string]*jsCode{}, logins: map[string][]time.Time{},
		publicApps: map[string]string{}, codes: newCodeMgmt(), publicTokens: map[string]*tokenSet{},
		startDomain: opts.StartPageDomain, authPageVisits: map[string]authPageVisit{}, subscriptions: newSubscriptions(),
		releaseOps: newReleaseOps(),
	}
	s.routes()
	s.subscribeRoutes()
	return s, nil
}

// Start builds a simulator listening on a free loopback port.
func Start(opts Options) (*Sim, error) {
	s, err := New(opts)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.URL = "http://" + ln.Addr().String()
	s.srv = loopback.Start(ln, s.cpu.Wrap(s.mux))
	return s, nil
}

// Close stops a started simulator.
func (s *Sim) Close() {
	if s.srv != nil {
		_ = s.srv.Close()
	}
}

// Handler serves the simulated API.
func (s *Sim) Handler() http.Handler { return s.mux }

// apiFunc handles one API with the state lock held; it returns the reply
// object or an error code.
type apiFunc func(r *http.Request, body []byte) (any, int)

// handle registers an API under its name (used by Calls and InjectError).
func (s *Sim) handle(method, path, api string, fn apiFunc) {
	s.mux.HandleFunc(method+" "+path, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		s.mu.Lock()
		s.calls[api]++
		var f *fault
		if q := s.faults[api]; len(q) > 0 {
			f = &q[0]
			s.faults[api] = q[1:]
		}
		s.mu.Unlock()
		if !s.latency.Wait(r) {
			return
		}
		if f != nil && f.delay > 0 {
			select {
			case <-time.After(f.delay):
			case <-r.Context().Done():
				return
			}
		}
		if f != nil && f.code != 0 {
			writeErr(w, f.code)
			return
		}
		s.mu.Lock()
		out, code := fn(r, body)
		s.mu.Unlock()
		if code != 0 {
			writeErr(w, code)
			return
		}
		switch v := out.(type) {
		case binaryReply:
			w.Header().Set("Content-Type", v.contentType)
			_, _ = w.Write(v.data)
		default:
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			_ = json.NewEncoder(w).Encode(v)
		}
	})
}

type binaryReply struct {
	contentType string
	data        []byte
}

// okReply is WeChat's answer to a successful call: errcode 0 and the API's
// own fields.
func okReply(fields map[string]any) map[string]any {
	out := map[string]any{"errcode": 0}
	maps.Copy(out, fields)
	return out
}

// expiring is a reply carrying a credential under field and its lifetime
// in seconds (expires_in).
func expiring(field, credential string, ttl time.Duration) map[string]any {
	return map[string]any{field: credential, "expires_in": int(ttl.Seconds())}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Calls returns how many times api (e.g. "api_component_token") was called.
func (s *Sim) Calls(api string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[api]
}

// TotalCalls returns how many API calls the simulator answered since the
// last ResetCalls, over every API.
func (s *Sim) TotalCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		n += c
	}
	return n
}

// ResetCalls zeroes every counter and the metered CPU time.
func (s *Sim) ResetCalls() {
	s.mu.Lock()
	s.calls = map[string]int{}
	s.mu.Unlock()
	s.cpu.Reset()
}

// MeterCPU turns on (or off) metering of the CPU time a started simulator
// spends serving calls, for benchmarks; CPU returns it.
func (s *Sim) MeterCPU(on bool) { s.cpu.SetOn(on) }

// CPU returns the CPU time spent serving calls since the last ResetCalls
// while metering was on.
func (s *Sim) CPU() time.Duration { return s.cpu.Total() }

// InjectError makes the next times calls of api fail with code (-1 is
// "system busy").
func (s *Sim) InjectError(api string, code int, times int) {
	s.mu.Lock()
	for range times {
		s.faults[api] = append(s.faults[api], fault{code: code})
	}
	s.mu.Unlock()
}

// ClearFaults drops every injected error and delay not yet used.
func (s *Sim) ClearFaults() {
	s.mu.Lock()
	s.faults = map[string][]fault{}
	s.mu.Unlock()
}

// InjectDelay delays the next times calls of api by d before answering.
func (s *Sim) InjectDelay(api string, d time.Duration, times int) {
	s.mu.Lock()
	for range times {
		s.faults[api] = append(s.faults[api], fault{delay: d})
	}
	s.mu.Unlock()
}

// decode reads a JSON request body as WeChat does: an empty body is 44002
// "empty post data", one that is not JSON (a form post, say) 47001 "data
// format error".
func decode(body []byte, v any) int {
	if len(bytes.TrimSpace(body)) == 0 {
		return codeEmptyPostData
	}
	if err := json.Unmarshal(body, v); err != nil {
		return codeDataFormat
	}
	return 0
}

var errNotSuccess = errors.New("push reply was not exactly success")
