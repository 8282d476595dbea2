package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"wxchannel/functions"
	"wxchannel/shared/config"
	"wxchannel/shared/local/apiclient"
	"wxchannel/shared/local/stack"
	"wxchannel/shared/wxcrypt"
)

// loadResult is one endpoint at one concurrency.
type loadResult struct {
	Endpoint    string
	Concurrency int
	Requests    int
	Errors      int
	Elapsed     time.Duration
	P50, P99    time.Duration
	FirstError  string
	// StorageBusy is the wall time during which the embedded DynamoDB
	// server was serving at least one request.
	StorageBusy time.Duration
}

func (r loadResult) throughput() float64 { return float64(r.Requests) / r.Elapsed.Seconds() }

// storageShare is the fraction of the level's wall time the embedded
// DynamoDB server was busy.
func (r loadResult) storageShare() float64 { return r.StorageBusy.Seconds() / r.Elapsed.Seconds() }

// contentTypeJSON is the media type of the API's JSON bodies.
const contentTypeJSON = "application/json"

// prepared is one request ready to send; expect is the status it must get.
type prepared struct {
	method, path, token string
	query               string
	body                []byte
	contentType         string
	headers             map[string]string
	expect              int
}

// loadTest runs each endpoint at each concurrency against a dev stack on a
// loopback port, for at most d or maxReq requests per level, whichever ends
// first. Every level starts on a fresh stack, so levels differ in
// concurrency and not in how full the embedded tables are. Requests are
// prepared before each level (sealed pushes, wx.login codes, logged-in
// users), so only the product's work is timed.
func loadTest(ctx context.Context, levels []int, d time.Duration, maxReq int) ([]loadResult, error) {
	var out []loadResult
	for _, ep := range []struct {
		name    string
		prepare preparer
	}{
		{"ticketpush: POST /wechat/component/events", (*loader).pushes},
		{"userlogin: POST /portal/login", (*loader).logins},
		{"workordercreate: POST /portal/work-orders", (*loader).creates},
	} {
		for _, c := range levels {
			res, err := loadLevel(ctx, c, d, maxReq, ep.prepare)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", ep.name, err)
			}
			res.Endpoint, res.Concurrency = ep.name, c
			out = append(out, res)
		}
	}
	return out, nil
}

// preparer prepares n requests of one endpoint.
type preparer func(l *loader, n int) ([]prepared, error)

// loadLevel runs one level on a stack of its own.
func loadLevel(ctx context.Context, conc int, d time.Duration, maxReq int, prepare preparer) (loadResult, error) {
	opts := stack.Options{Addr: "127.0.0.1:0", LogLevel: "info", Log: io.Discard, NoSchedules: true}
	st, err := stack.Start(ctx, opts, functions.Mount)
	if err != nil {
		return loadResult{}, err
	}
	defer st.Close()
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}
	defer client.CloseIdleConnections()
	l := &loader{st: st, client: client}
	if err := l.setup(ctx); err != nil {
		return loadResult{}, err
	}
	reqs, err := prepare(l, maxReq)
	if err != nil {
		return loadResult{}, err
	}
	st.Dynamo.ResetCalls()
	res := l.run(ctx, reqs, conc, d)
	res.StorageBusy = st.Dynamo.Busy()
	return res, nil
}

type loader struct {
	st     *stack.Stack
	client *http.Client
	crypt  *wxcrypt.Crypter
	scene  string
	seq    int
}

func (l *loader) setup(ctx context.Context) error {
	sec := l.st.Deps.Secrets
	token, err := sec.Get(ctx, config.SecretComponentToken)
	if err != nil {
		return err
	}
	key, err := sec.Get(ctx, config.SecretEncodingAESKey)
	if err != nil {
		return err
	}
	if l.crypt, err = wxcrypt.New(token, key, l.st.ComponentAppID, ""); err != nil {
		return err
	}
	var out struct {
		Scene string `json:"scene"`
	}
	if err := l.json(ctx, http.MethodPost, "/admin/qr-scenes", l.st.AdminToken, map[string]any{}, 201, &out); err != nil {
		return err
	}
	l.scene = out.Scene
	return nil
}

// pushes are fresh verify tickets, each sealed and signed like WeChat's.
func (l *loader) pushes(n int) ([]prepared, error) {
	out := make([]prepared, 0, n)
	now := time.Now().Unix()
	for range n {
		l.seq++
		inner := fmt.Sprintf("<xml><AppId><![CDATA[%s]]></AppId><CreateTime>%d</CreateTime>"+
			"<InfoType><![CDATA[component_verify_ticket]]></InfoType>"+
			"<ComponentVerifyTicket><![CDATA[ticket@@@load-%d]]></ComponentVerifyTicket></xml>",
			l.st.ComponentAppID, now, l.seq)
		q, body, err := l.crypt.Seal([]byte(inner), strconv.FormatInt(now, 10), "n"+strconv.Itoa(l.seq), "AppId", l.st.ComponentAppID)
		if err != nil {
			return nil, err
		}
		out = append(out, prepared{
			method: http.MethodPost, path: "/wechat/component/events", query: q.Encode(), body: body, contentType: "text/xml", expect: 200,
		})
	}
	return out, nil
}

// logins are wx.login codes of distinct users scanning the tenant's QR.
func (l *loader) logins(n int) ([]prepared, error) {
	out := make([]prepared, 0, n)
	for range n {
		l.seq++
		code := l.st.Sim.IssueJSCode(l.st.PublicAppID, "o-load-"+strconv.Itoa(l.seq), "")
		body, _ := json.Marshal(map[string]any{"code": code, "scene": l.scene})
		out = append(out, prepared{method: http.MethodPost, path: "/portal/login", body: body, contentType: contentTypeJSON, expect: 200})
	}
	return out, nil
}

// creates are new work orders from logged-in users, ten per user (the
// hourly limit), each with its own Idempotency-Key and device.
func (l *loader) creates(n int) ([]prepared, error) {
	out := make([]prepared, 0, n)
	var session string
	for i := range n {
		l.seq++
		if i%10 == 0 {
			code := l.st.Sim.IssueJSCode(l.st.PublicAppID, "o-create-"+strconv.Itoa(l.seq), "")
			var login struct {
				Session string `json:"session_token"`
			}
			in := map[string]any{"code": code, "scene": l.scene}
			if err := l.json(context.Background(), http.MethodPost, "/portal/login", "", in, 200, &login); err != nil {
				return nil, err
			}
			session = login.Session
		}
		body, _ := json.Marshal(map[string]any{"category": "repair", "description": "The compressor makes a grinding noise",
			"device_sn": fmt.Sprintf("LOAD-%08d", l.seq), "contact_name": "Li Lei", "phone": "13800138000",
			"address": "88 Century Avenue, Pudong, Shanghai", "latitude": 31.2304 + float64(l.seq%200)*0.001, "longitude": 121.4737})
		out = append(out, prepared{method: http.MethodPost, path: "/portal/work-orders", token: session, body: body, contentType: contentTypeJSON,
			headers: map[string]string{"Idempotency-Key": fmt.Sprintf("load-key-%08d", l.seq)}, expect: 201})
	}
	return out, nil
}

func (l *loader) run(ctx context.Context, reqs []prepared, conc int, d time.Duration) loadResult {
	var (
		mu        sync.Mutex
		lat       []time.Duration
		errs      int
		firstErr  string
		next      = make(chan prepared)
		wg        sync.WaitGroup
		deadline  = time.Now().Add(d)
		startedAt = time.Now()
	)
	for range conc {
		wg.Go(func() {
			for p := range next {
				t0 := time.Now()
				status, msg := l.send(ctx, p)
				el := time.Since(t0)
				mu.Lock()
				lat = append(lat, el)
				if status != p.expect {
					errs++
					if firstErr == "" {
						firstErr = fmt.Sprintf("HTTP %d: %s", status, msg)
					}
				}
				mu.Unlock()
			}
		})
	}
	for _, p := range reqs {
		if time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		next <- p
	}
	close(next)
	wg.Wait()
	elapsed := time.Since(startedAt)
	slices.Sort(lat)
	res := loadResult{Requests: len(lat), Errors: errs, Elapsed: elapsed, FirstError: firstErr}
	if len(lat) > 0 {
		res.P50 = lat[len(lat)*50/100]
		res.P99 = lat[min(len(lat)-1, len(lat)*99/100)]
	}
	return res
}

func (l *loader) send(ctx context.Context, p prepared) (int, string) {
	u := l.st.URL + p.path
	if p.query != "" {
		u += "?" + p.query
	}
	req, err := http.NewRequestWithContext(ctx, p.method, u, bytes.NewReader(p.body))
	if err != nil {
		return 0, err.Error()
	}
	if p.contentType != "" {
		req.Header.Set("Content-Type", p.contentType)
	}
	if p.token != "" {
		req.Header.Set("Authorization", "Bearer "+p.token)
	}
	for k, v := range p.headers {
		req.Header.Set(k, v)
	}
	resp, err := l.client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, string(body)
}

func (l *loader) json(ctx context.Context, method, path, token string, in any, want int, out any) error {
	c := apiclient.Client{Base: l.st.URL, HTTP: l.client}
	r, err := c.Expect(ctx, apiclient.Request{Method: method, Path: path, Token: token, Body: in}, want)
	if err != nil {
		return err
	}
	return json.Unmarshal([]byte(r.Raw), out)
}
