package httpapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"regexp"
	"time"

	"github.com/awslabs/aws-lambda-go-api-proxy/core"

	"wxchannel/shared/apperr"
	"wxchannel/shared/logging"
)

// HandlerFunc is an endpoint that returns its error instead of writing it,
// so that every error reaches the client through the same envelope.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Authenticated wraps h so that it runs with the identity authenticate
// finds in the request; a request without one gets authenticate's error.
func Authenticated[C any](authenticate func(*http.Request) (C, error), h func(http.ResponseWriter, *http.Request, C) error) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		c, err := authenticate(r)
		if err != nil {
			return err
		}
		return h(w, r, c)
	}
}

// Router is an http.ServeMux whose endpoints return errors and whose own
// "not found" and "method not allowed" answers use the JSON envelope.
type Router struct {
	mux *http.ServeMux
	log *slog.Logger
	// patterns lists the registered patterns, for the template check.
	patterns []string
}

// NewRouter returns an empty router logging errors to log.
func NewRouter(log *slog.Logger) *Router {
	return &Router{mux: http.NewServeMux(), log: log}
}

// Handle registers an endpoint for a ServeMux pattern such as
// "POST /portal/work-orders".
func (rt *Router) Handle(pattern string, h HandlerFunc) {
	rt.patterns = append(rt.patterns, pattern)
	rt.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			WriteError(w, r, rt.log, err)
		}
	})
}

// HandleHTTP registers a plain http.Handler (for endpoints such as WeChat
// pushes whose reply is not JSON).
func (rt *Router) HandleHTTP(pattern string, h http.Handler) {
	rt.patterns = append(rt.patterns, pattern)
	rt.mux.Handle(pattern, h)
}

// Patterns returns the registered patterns in registration order.
func (rt *Router) Patterns() []string { return append([]string(nil), rt.patterns...) }

func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h, pattern := rt.mux.Handler(r)
	if pattern != "" {
		// The mux itself dispatches, so path values ({id}) are set.
		rt.mux.ServeHTTP(w, r)
		return
	}
	// The mux found no route: note its answer (404, 405 with Allow, or a
	// redirect for a cleaned path) and turn errors into the envelope.
	ans := &muxAnswer{header: http.Header{}}
	h.ServeHTTP(ans, r)
	switch ans.status {
	case http.StatusNotFound:
		WriteError(w, r, nil, apperr.Errorf(apperr.NotFound, "route_not_found", "no route for %s %s", r.Method, r.URL.Path))
	case http.StatusMethodNotAllowed:
		w.Header().Set("Allow", ans.header.Get("Allow"))
		WriteError(w, r, nil, apperr.Errorf(apperr.NotAllowed, "method_not_allowed", "%s is not allowed on %s", r.Method, r.URL.Path))
	default:
		maps.Copy(w.Header(), ans.header)
		w.WriteHeader(ans.status)
		_, _ = w.Write(ans.body.Bytes())
	}
}

// muxAnswer keeps the mux's own answer to a request it has no route for.
type muxAnswer struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (a *muxAnswer) Header() http.Header { return a.header }
func (a *muxAnswer) Write(b []byte) (int, error) {
	if a.status == 0 {
		a.status = http.StatusOK
	}
	return a.body.Write(b)
}
func (a *muxAnswer) WriteHeader(code int) {
	if a.status == 0 {
		a.status = code
	}
}

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._=-]{1,128}$`)

// Middleware wraps a function's handler with what every request needs: a
// request id (API Gateway's when present), a deadline, panic recovery and
// one structured access log line.
func Middleware(function string, log *slog.Logger, timeout time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := requestID(r)
		ctx := logging.WithFunction(logging.WithRequestID(r.Context(), id), function)
		if timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
		}
		r = r.WithContext(ctx)
		w.Header().Set("X-Request-Id", id)
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				log.ErrorContext(ctx, "panic", "function", function, "panic", fmt.Sprint(p))
				if !sw.wrote {
					WriteError(sw, r, nil, apperr.E(apperr.Internal, "internal", "internal error; retry later"))
				}
			}
			log.InfoContext(ctx, "request", "function", function, "method", r.Method, "path", r.URL.Path,
				"status", sw.status, "bytes", sw.bytes, "duration_ms", time.Since(start).Milliseconds())
		}()
		next.ServeHTTP(sw, r)
	})
}

// ClientIP is the address the request came from: API Gateway's source IP
// in AWS, the connection's peer locally.
func ClientIP(r *http.Request) string {
	if gw, ok := core.GetAPIGatewayV2ContextFromContext(r.Context()); ok && gw.HTTP.SourceIP != "" {
		return gw.HTTP.SourceIP
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return ""
	}
	return host
}

func requestID(r *http.Request) string {
	if gw, ok := core.GetAPIGatewayV2ContextFromContext(r.Context()); ok && gw.RequestID != "" {
		return gw.RequestID
	}
	if id := r.Header.Get("X-Request-Id"); requestIDPattern.MatchString(id) {
		return id
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// Health answers a function's health route with its name, without touching
// storage: it proves the deployment and the adapter path.
func Health(function string) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ok", "function": function})
		return nil
	}
}
