//! The special-purpose address registries: the networks no configuration can
//! allow (cloud metadata, link-local, unspecified), and the IPv4 and IPv6 ranges
//! IANA marks as not globally reachable, each with the name a refusal gives.
//! Tables and lookups only; the rules that use them are in [`super`].

use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;

/// Networks no configuration can allow, each with the reason given when refused.
/// More specific entries come first so that the reason is the most precise one.
const ALWAYS_REFUSED: [(&str, &str); 7] = [
    ("169.254.169.254/32", "a cloud metadata address"),
    ("fd00:ec2::254/128", "a cloud metadata address (AWS IPv6)"),
    ("100.100.100.200/32", "a cloud metadata address (Alibaba Cloud)"),
    ("169.254.0.0/16", "link-local"),
    ("fe80::/10", "link-local"),
    ("0.0.0.0/8", "an unspecified address"),
    ("::/128", "an unspecified address"),
];

/// IPv4 ranges that are not globally reachable (IANA IPv4 Special-Purpose
/// Address Registry, plus multicast and the reserved 240/4), with their name.
/// The globally reachable exceptions inside them come first.
const IPV4_SPECIAL: [(&str, Option<&str>); 19] = [
    ("192.0.0.9/32", None),
    ("192.0.0.10/32", None),
    ("127.0.0.0/8", Some("loopback")),
    ("10.0.0.0/8", Some("private (RFC 1918)")),
    ("172.16.0.0/12", Some("private (RFC 1918)")),
    ("192.168.0.0/16", Some("private (RFC 1918)")),
    ("100.64.0.0/10", Some("shared address space (CGNAT, RFC 6598)")),
    ("192.0.0.0/24", Some("IETF protocol assignments")),
    ("192.0.2.0/24", Some("documentation")),
    ("198.51.100.0/24", Some("documentation")),
    ("203.0.113.0/24", Some("documentation")),
    ("198.18.0.0/15", Some("benchmarking")),
    ("192.88.99.0/24", Some("6to4 relay anycast (deprecated)")),
    ("224.0.0.0/4", Some("multicast")),
    ("255.255.255.255/32", Some("broadcast")),
    ("240.0.0.0/4", Some("reserved")),
    ("0.0.0.0/8", Some("this network")),
    ("169.254.0.0/16", Some("link-local")),
    // Everything else in IPv4 is globally reachable.
    ("0.0.0.0/0", None),
];

/// IPv6 ranges that are not globally reachable (IANA IPv6 Special-Purpose
/// Address Registry); the globally reachable exceptions come first. Anything
/// outside the global unicast space `2000::/3` that is not listed here is
/// refused as well.
const IPV6_SPECIAL: [(&str, Option<&str>); 23] = [
    ("::1/128", Some("loopback")),
    ("64:ff9b:1::/48", Some("local-use IPv4/IPv6 translation (64:ff9b:1::/48)")),
    ("100::/64", Some("discard-only")),
    ("2001:1::1/128", None),
    ("2001:1::2/128", None),
    ("2001:1::3/128", None),
    ("2001:3::/32", None),
    ("2001:4:112::/48", None),
    ("2001:20::/28", None),
    ("2001:30::/28", None),
    // Teredo: judged by the client address it carries.
    ("2001::/32", None),
    ("2001:2::/48", Some("benchmarking")),
    ("2001:db8::/32", Some("documentation")),
    ("2001::/23", Some("IETF protocol assignments")),
    ("3fff::/20", Some("documentation")),
    ("fc00::/7", Some("unique local (ULA)")),
    ("fec0::/10", Some("site-local (deprecated)")),
    ("fe80::/10", Some("link-local")),
    ("ff00::/8", Some("multicast")),
    ("::/96", Some("IPv4-compatible (deprecated)")),
    ("64:ff9b::/96", None),
    ("2000::/3", None),
    ("::/0", Some("not a global unicast address")),
];

/// The entries of a table, parsed (every entry is a valid network).
fn table<T: Copy>(entries: &'static [(&'static str, T)]) -> impl Iterator<Item = (IpNet, T)> {
    entries.iter().filter_map(|(net, value)| net.parse::<IpNet>().ok().map(|net| (net, *value)))
}

/// Why `address` is always refused, if it is.
pub(super) fn always_refused(address: IpAddr) -> Option<&'static str> {
    table(&ALWAYS_REFUSED).find(|(net, _)| net.contains(&address)).map(|(_, reason)| reason)
}

/// `0.0.0.0/8`: what zero bits decode to.
pub(super) fn is_unspecified(address: Ipv4Addr) -> bool {
    address.octets()[0] == 0
}

/// The special-purpose class of an address that is not globally reachable
/// (`loopback`, `private (RFC 1918)` …); `None` for a public address.
pub fn special_purpose(address: IpAddr) -> Option<&'static str> {
    match address.to_canonical() {
        IpAddr::V4(_) => table(&IPV4_SPECIAL).find(|(net, _)| net.contains(&address.to_canonical()))?.1,
        IpAddr::V6(_) => table(&IPV6_SPECIAL).find(|(net, _)| net.contains(&address))?.1,
    }
}
