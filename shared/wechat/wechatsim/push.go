package wechatsim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

var errUnknownAccount = errors.New("unknown account")

// pushSoon pushes a ticket in the background, as WeChat does shortly after
// api_start_push_ticket.
func (s *Sim) pushSoon(url string) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := s.PushTicket(ctx, url); err != nil {
			s.opts.Logger.Warn("ticket push failed", "err", err.Error())
		}
	}()
}

// SetPushURL is where api_start_push_ticket makes the simulator push.
func (s *Sim) SetPushURL(url string) {
	s.mu.Lock()
	s.pushURL = url
	s.mu.Unlock()
}

// Push seals inner (the decrypted XML) like WeChat and POSTs it to url with
// the outer tag (AppId for the authorization event URL, ToUserName for the
// message URL). It fails unless the reply is exactly "success".
func (s *Sim) Push(ctx context.Context, url, outerTag, outerValue string, inner []byte) error {
	now := s.opts.Now()
	q, body, err := s.sealer().Seal(inner, strconv.FormatInt(now.Unix(), 10), strconv.FormatInt(now.UnixNano()%1e9, 10), outerTag, outerValue)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"?"+q.Encode(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/xml")
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK || string(reply) != "success" {
		return fmt.Errorf("%w: HTTP %d %q", errNotSuccess, resp.StatusCode, reply)
	}
	return nil
}

// PushTicket issues a new verify ticket and pushes it to url.
func (s *Sim) PushTicket(ctx context.Context, url string) (string, error) {
	s.mu.Lock()
	ticket := s.issueTicketLocked()
	s.mu.Unlock()
	inner := fmt.Sprintf("<xml><AppId><![CDATA[%s]]></AppId><CreateTime>%d</CreateTime>"+
		"<InfoType><![CDATA[component_verify_ticket]]></InfoType>"+
		"<ComponentVerifyTicket><![CDATA[%s]]></ComponentVerifyTicket></xml>",
		s.opts.ComponentAppID, s.opts.Now().Unix(), ticket)
	return ticket, s.Push(ctx, url, "AppId", s.opts.ComponentAppID, []byte(inner))
}

// StartTicketPusher pushes a ticket to url every interval until ctx ends,
// as WeChat does every 10 minutes. The first push comes after one
// interval; a caller that needs a ticket at once pushes it itself.
func (s *Sim) StartTicketPusher(ctx context.Context, url string, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := s.PushTicket(ctx, url); err != nil && ctx.Err() == nil {
			s.opts.Logger.Warn("ticket push failed", "err", err.Error())
		}
	}
}

// PushAuthEvent pushes an authorized / updateauthorized / unauthorized
// event for appid. For authorized and updateauthorized, authCode is the
// code from Authorize.
func (s *Sim) PushAuthEvent(ctx context.Context, url, infoType, appid, authCode string) error {
	now := s.opts.Now()
	inner := fmt.Sprintf("<xml><AppId><![CDATA[%s]]></AppId><CreateTime>%d</CreateTime>"+
		"<InfoType><![CDATA[%s]]></InfoType><AuthorizerAppid><![CDATA[%s]]></AuthorizerAppid>",
		s.opts.ComponentAppID, now.Unix(), infoType, appid)
	if infoType != "unauthorized" {
		pre := s.PreAuthCodeOf(authCode)
		if pre == "" {
			pre = "preauthcode@@@" + randomHex(8)
		}
		inner += fmt.Sprintf("<AuthorizationCode><![CDATA[%s]]></AuthorizationCode>"+
			"<AuthorizationCodeExpiredTime>%d</AuthorizationCodeExpiredTime><PreAuthCode><![CDATA[%s]]></PreAuthCode>",
			authCode, now.Add(10*time.Minute).Unix(), pre)
	}
	inner += "</xml>"
	return s.Push(ctx, url, "AppId", s.opts.ComponentAppID, []byte(inner))
}
