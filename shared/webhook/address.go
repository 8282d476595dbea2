package webhook

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
)

// ErrForbiddenAddress is wrapped by every refusal of an address outside the
// public internet, whether found in a URL or when dialling.
var ErrForbiddenAddress = errors.New("webhook: address not on the public internet")

// What a refused address is, in the admin's words.
const (
	privateNetwork = "a private network address"
	reserved       = "a reserved address"
)

// forbiddenRange is a block of addresses a webhook may not reach, with the
// words an admin reads when refused.
type forbiddenRange struct {
	prefix netip.Prefix
	what   string
}

// metadataAddresses are the instance metadata services of AWS (IPv4 and
// IPv6), Alibaba Cloud and Tencent Cloud. Each lies in a range refused
// below anyway; they are named so the refusal says what they are.
var metadataAddresses = []netip.Addr{
	netip.MustParseAddr("169.254.169.254"),
	netip.MustParseAddr("100.100.100.200"),
	netip.MustParseAddr("169.254.0.23"),
	netip.MustParseAddr("fd00:ec2::254"),
}

// forbiddenRanges lists every block refused unless private addresses are
// allowed. IPv4-mapped and NAT64 addresses are judged by the IPv4 address
// they carry (see forbidden).
var forbiddenRanges = []forbiddenRange{
	{netip.MustParsePrefix("0.0.0.0/8"), "an unspecified address"},
	{netip.MustParsePrefix("10.0.0.0/8"), privateNetwork},
	{netip.MustParsePrefix("100.64.0.0/10"), "a carrier-grade NAT address"},
	{netip.MustParsePrefix("127.0.0.0/8"), "a loopback address"},
	{netip.MustParsePrefix("169.254.0.0/16"), "a link-local address"},
	{netip.MustParsePrefix("172.16.0.0/12"), privateNetwork},
	{netip.MustParsePrefix("192.0.0.0/24"), reserved},
	{netip.MustParsePrefix("192.168.0.0/16"), privateNetwork},
	{netip.MustParsePrefix("198.18.0.0/15"), reserved},
	{netip.MustParsePrefix("224.0.0.0/4"), "a multicast address"},
	{netip.MustParsePrefix("240.0.0.0/4"), reserved}, // and the broadcast address
	{netip.MustParsePrefix("::/128"), "an unspecified address"},
	{netip.MustParsePrefix("::1/128"), "a loopback address"},
	{netip.MustParsePrefix("::/96"), reserved}, // the deprecated IPv4-compatible form
	{netip.MustParsePrefix("64:ff9b:1::/48"), privateNetwork},
	{netip.MustParsePrefix("fc00::/7"), privateNetwork},
	{netip.MustParsePrefix("fe80::/10"), "a link-local address"},
	{netip.MustParsePrefix("fec0::/10"), privateNetwork}, // the deprecated site-local block
	{netip.MustParsePrefix("ff00::/8"), "a multicast address"},
}

var (
	ipv4MappedPrefix = netip.MustParsePrefix("::ffff:0:0/96")
	nat64Prefix      = netip.MustParsePrefix("64:ff9b::/96")
)

// forbidden says what addr is when a webhook may not reach it.
func forbidden(addr netip.Addr) (what string, bad bool) {
	addr = addr.WithZone("")
	if ipv4MappedPrefix.Contains(addr) || nat64Prefix.Contains(addr) {
		// The packet ends up at the IPv4 address in the last four bytes.
		b := addr.As16()
		addr = netip.AddrFrom4([4]byte(b[12:]))
	}
	if slices.Contains(metadataAddresses, addr) {
		return "the cloud metadata service", true
	}
	for _, r := range forbiddenRanges {
		if r.prefix.Contains(addr) {
			return r.what, true
		}
	}
	return "", false
}

// checkAddr refuses addr unless it is on the public internet.
func checkAddr(addr netip.Addr) error {
	if what, bad := forbidden(addr); bad {
		return fmt.Errorf("%w: %s is %s", ErrForbiddenAddress, addr, what)
	}
	return nil
}
