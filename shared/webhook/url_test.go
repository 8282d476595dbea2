package webhook_test

import (
	"errors"
	"strings"
	"testing"

	"wxchannel/shared/apperr"
	"wxchannel/shared/webhook"
)

func TestValidateURL(t *testing.T) {
	var (
		strict   = webhook.URLOptions{}
		withHTTP = webhook.URLOptions{AllowHTTP: true}
		private  = webhook.URLOptions{AllowPrivate: true}
		local    = webhook.URLOptions{AllowHTTP: true, AllowPrivate: true}
	)
	const (
		ok        = "ok"
		invalid   = "invalid"
		forbidden = "forbidden" // invalid, and wrapping ErrForbiddenAddress
	)
	long := "https://crm.example.com/" + strings.Repeat("a", webhook.MaxURLLen-len("https://crm.example.com/"))
	tests := []struct {
		url  string
		opts webhook.URLOptions
		want string
	}{
		{"https://crm.example.com/webhooks/wxchannel", strict, ok},
		{"https://crm.example.com:8443/hooks?tenant=t1&token=abc", strict, ok},
		{"HTTPS://CRM.Example.COM./hooks", strict, ok},
		{"https://203.0.113.10/hooks", strict, ok},
		{"https://[2001:db8::10]/hooks", strict, ok},
		{"https://xn--fsqu00a.xn--fiqs8s/hooks", strict, ok},
		{"https://my_crm.example.com/hooks", strict, ok},
		{long, strict, ok},
		{long + "a", strict, invalid},
		{"", strict, invalid},
		{"   ", strict, invalid},
		{"crm.example.com/hooks", strict, invalid},
		{"/hooks", strict, invalid},
		{"ftp://crm.example.com/hooks", strict, invalid},
		{"javascript:alert(1)", strict, invalid},
		{"https:crm.example.com", strict, invalid},
		{"https:///hooks", strict, invalid},
		{"http://crm.example.com/hooks", strict, invalid},
		{"http://crm.example.com/hooks", withHTTP, ok},
		{"https://user:pass@crm.example.com/hooks", strict, invalid},
		{"https://user@crm.example.com/hooks", strict, invalid},
		{"https://crm.example.com/hooks#section", strict, invalid},
		{"https://crm.example.com/hooks#", strict, invalid},
		{"https://crm.example.com:0/hooks", strict, invalid},
		{"https://crm.example.com:65536/hooks", strict, invalid},
		{"https://crm.example.com:https/hooks", strict, invalid},
		{"https://crm example.com/hooks", strict, invalid},
		{"https://例子.中国/hooks", strict, invalid},
		{"https://crm..example.com/hooks", strict, invalid},
		{"https://" + strings.Repeat("a", 64) + ".example.com/", strict, invalid},
		{"https://2130706433/hooks", strict, invalid},
		{"https://0x7f000001/hooks", strict, invalid},
		{"https://127.1/hooks", strict, invalid},
		{"https://0177.0.0.1/hooks", strict, invalid},
		{"https://2130706433/hooks", local, invalid},
		{"https://127.0.0.1/hooks", strict, forbidden},
		{"https://127.0.0.1:8080/hooks", private, ok},
		{"http://127.0.0.1:8080/dev/webhook", local, ok},
		{"http://127.0.0.1:8080/dev/webhook", private, invalid},
		{"https://localhost/hooks", strict, forbidden},
		{"https://LOCALHOST./hooks", strict, forbidden},
		{"https://api.localhost/hooks", strict, forbidden},
		{"https://localhost/hooks", private, ok},
		{"https://printer.local/hooks", strict, forbidden},
		{"https://metadata.google.internal/computeMetadata/v1/", strict, forbidden},
		{"https://router.home.arpa/", strict, forbidden},
		{"https://box.localdomain/", strict, forbidden},
		{"https://localhost.example.com/hooks", strict, ok},
		{"https://10.1.2.3/", strict, forbidden},
		{"https://172.16.0.1/", strict, forbidden},
		{"https://172.31.255.255/", strict, forbidden},
		{"https://172.32.0.1/", strict, ok},
		{"https://192.168.1.1/", strict, forbidden},
		{"https://100.64.0.1/", strict, forbidden},
		{"https://100.127.255.255/", strict, forbidden},
		{"https://100.128.0.1/", strict, ok},
		{"https://169.254.169.254/latest/meta-data/", strict, forbidden},
		{"https://100.100.100.200/latest/meta-data/", strict, forbidden},
		{"https://169.254.1.1/", strict, forbidden},
		{"https://0.0.0.0/", strict, forbidden},
		{"https://224.0.0.1/", strict, forbidden},
		{"https://239.255.255.250/", strict, forbidden},
		{"https://255.255.255.255/", strict, forbidden},
		{"https://[::1]/", strict, forbidden},
		{"https://[::]/", strict, forbidden},
		{"https://[fc00::1]/", strict, forbidden},
		{"https://[fd00:ec2::254]/", strict, forbidden},
		{"https://[fe80::1]/", strict, forbidden},
		{"https://[fe80::1%25eth0]/", strict, forbidden},
		{"https://[ff02::1]/", strict, forbidden},
		{"https://[::ffff:127.0.0.1]/", strict, forbidden},
		{"https://[::ffff:7f00:1]/", strict, forbidden},
		{"https://[::ffff:10.0.0.1]/", strict, forbidden},
		{"https://[::ffff:169.254.169.254]/", strict, forbidden},
		{"https://[::ffff:203.0.113.10]/", strict, ok},
		{"https://[::127.0.0.1]/", strict, forbidden},
		{"https://[64:ff9b::a9fe:a9fe]/", strict, forbidden},
		{"https://[64:ff9b::cb00:710a]/", strict, ok},
		{"https://[::1]/", private, ok},
		{"https://[fd00:ec2::254]/", private, ok},
	}
	for _, tt := range tests {
		err := webhook.ValidateURL(tt.url, tt.opts)
		got := ok
		switch {
		case errors.Is(err, webhook.ErrForbiddenAddress):
			got = forbidden
		case err != nil:
			got = invalid
		}
		if got != tt.want {
			t.Errorf("ValidateURL(%q, %+v) = %v (%s), want %s", tt.url, tt.opts, err, got, tt.want)
			continue
		}
		if err != nil && (apperr.KindOf(err) != apperr.Invalid || apperr.CodeOf(err) != "invalid_webhook_url") {
			t.Errorf("ValidateURL(%q) = %v, want an invalid_webhook_url Invalid error", tt.url, err)
		}
	}
}

// TestURLErrorsSpeakToTheAdmin keeps Go's and the URL parser's words out of
// what the tenant admin reads.
func TestURLErrorsSpeakToTheAdmin(t *testing.T) {
	for raw, want := range map[string]string{
		"http://crm.example.com/":    "must start with https://",
		"https://169.254.169.254/":   "the cloud metadata service",
		"https://10.0.0.1/":          "a private network address",
		"https://[::1]/":             "a loopback address",
		"https://localhost/":         "only reachable inside a private network",
		"https://a:b@crm.example/":   "user name or password",
		"https://crm.example.com/#x": "fragment",
	} {
		e, ok := apperr.As(webhook.ValidateURL(raw, webhook.URLOptions{}))
		if !ok || !strings.Contains(e.Message, want) {
			t.Errorf("ValidateURL(%q) message = %v, want it to say %q", raw, e, want)
		}
	}
}
