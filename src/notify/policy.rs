//! The destination address policy: which IP addresses the relay may connect to.
//!
//! Every address is checked where the connection is made — after DNS resolution,
//! on every new connection (a [`PolicyResolver`] inside each HTTP client), and for
//! URLs that name an IP literal (which skip DNS) before the request is sent — so a
//! name that resolves to an allowed address once and to a metadata service later
//! ("DNS rebinding") cannot slip through. Owns the rules only; sending lives in
//! [`super::http`].
//!
//! The rules, in order:
//! 1. Cloud metadata, link-local and unspecified addresses (`0.0.0.0/8`, `::`)
//!    are always refused, whatever the configuration.
//! 2. An IPv6 address that embeds an IPv4 one — IPv4-mapped `::ffff:0:0/96`,
//!    IPv4-compatible `::/96`, NAT64 `64:ff9b::/96` and `64:ff9b:1::/48` (RFC 6052
//!    positions), 6to4 `2002::/16`, Teredo `2001::/32` (the XOR-ed client
//!    address) — is refused when the embedded IPv4 address would be, by these
//!    same rules. (IPv4-mapped addresses are simply judged as IPv4.)
//! 3. `delivery.denied_cidrs` refuses.
//! 4. Public addresses are allowed. Addresses the IANA special-purpose registries
//!    mark as not globally reachable (loopback, RFC 1918, shared address space,
//!    documentation, benchmarking, multicast, unique local, …) are refused unless
//!    `delivery.allowed_cidrs` lists them: that is how an internal network (an
//!    internal Splunk) is opened.
//!
//! Apart from the policy, the loop guard ([`OwnAddresses`]) refuses the relay's
//! own listening address and port, however it is named.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, RwLock};

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

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

/// Which addresses destinations may have.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    /// Non-public networks that may be reached all the same (`delivery.allowed_cidrs`).
    allowed: Vec<IpNet>,
    /// Networks refused (`delivery.denied_cidrs`); wins over `allowed`.
    denied: Vec<IpNet>,
}

/// An address the policy refuses, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{address} is {reason}")]
pub struct Refused {
    pub address: IpAddr,
    pub reason: String,
}

/// A name whose every address the policy refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the address policy refuses {host}: {}", refusals.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct HostRefused {
    pub host: String,
    pub refusals: Vec<Refused>,
}

/// `10.0.0.0/8`, `fd00::/8`, or a single address (`192.0.2.7`).
pub fn parse_cidr(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    if let Ok(net) = text.parse::<IpNet>() {
        return Ok(net.trunc());
    }
    text.parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| format!("`{text}` is not a CIDR (10.0.0.0/8, fd00::/8) or an IP address"))
}

fn table<T: Copy>(entries: &'static [(&'static str, T)]) -> impl Iterator<Item = (IpNet, T)> {
    entries.iter().filter_map(|(net, value)| net.parse::<IpNet>().ok().map(|net| (net, *value)))
}

/// Why `address` is always refused, if it is.
fn always_refused(address: IpAddr) -> Option<&'static str> {
    table(&ALWAYS_REFUSED).find(|(net, _)| net.contains(&address)).map(|(_, reason)| reason)
}

/// `0.0.0.0/8`: what zero bits decode to.
fn is_unspecified(address: Ipv4Addr) -> bool {
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

/// The IPv4 addresses an IPv6 address carries, with the name of the form. A
/// local-use NAT64 address is decoded at every RFC 6052 position its /48 admits.
pub fn embedded_ipv4(address: Ipv6Addr) -> Vec<(Ipv4Addr, &'static str)> {
    let bits = u128::from(address);
    let octets = address.octets();
    let v4 = |bytes: [u8; 4]| Ipv4Addr::from(bytes);
    let low32 = v4([octets[12], octets[13], octets[14], octets[15]]);
    let in_net = |net: &str| net.parse::<IpNet>().is_ok_and(|net| net.contains(&IpAddr::V6(address)));
    if address.to_ipv4_mapped().is_some() {
        vec![(low32, "IPv4-mapped")]
    } else if in_net("::/96") {
        // `::` and `::1` are no embedding: they are judged as themselves.
        if bits <= 1 {
            Vec::new()
        } else {
            vec![(low32, "IPv4-compatible")]
        }
    } else if in_net("64:ff9b::/96") {
        vec![(low32, "NAT64")]
    } else if in_net("64:ff9b:1::/48") {
        // RFC 6052 §2.2: bits 64–71 are zero and skipped.
        vec![
            (v4([octets[6], octets[7], octets[9], octets[10]]), "local-use NAT64 (/48)"),
            (v4([octets[7], octets[9], octets[10], octets[11]]), "local-use NAT64 (/56)"),
            (v4([octets[9], octets[10], octets[11], octets[12]]), "local-use NAT64 (/64)"),
            (low32, "local-use NAT64 (/96)"),
        ]
    } else if in_net("2002::/16") {
        vec![(v4([octets[2], octets[3], octets[4], octets[5]]), "6to4")]
    } else if in_net("2001::/32") {
        let client = !u32::from(low32);
        vec![(Ipv4Addr::from(client), "Teredo client")]
    } else {
        Vec::new()
    }
}

impl AddressPolicy {
    /// The policy of `delivery.allowed_cidrs` and `delivery.denied_cidrs`; an
    /// entry that does not parse is an error naming its key.
    pub fn new(allowed: &[String], denied: &[String]) -> Result<Self, String> {
        let parse = |key: &str, list: &[String]| {
            list.iter()
                .enumerate()
                .map(|(index, text)| parse_cidr(text).map_err(|reason| format!("delivery.{key}[{index}]: {reason}")))
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(Self { allowed: parse("allowed_cidrs", allowed)?, denied: parse("denied_cidrs", denied)? })
    }

    /// Allows `address`, or says why not.
    pub fn check(&self, address: IpAddr) -> Result<(), Refused> {
        let address = address.to_canonical();
        self.reason(address).map_or(Ok(()), |reason| Err(Refused { address, reason }))
    }

    /// Why `address` (canonical) is refused, or `None`.
    fn reason(&self, address: IpAddr) -> Option<String> {
        if let Some(reason) = always_refused(address) {
            return Some(format!("{reason}, which is always refused"));
        }
        if let IpAddr::V6(v6) = address {
            for (inner, form) in embedded_ipv4(v6) {
                // Where the local-use NAT64 prefix puts the IPv4 address depends on
                // the operator's translator: every position is only checked for
                // the addresses no configuration may reach.
                let reason = if form.starts_with("local-use") {
                    always_refused(IpAddr::V4(inner))
                        .filter(|_| !is_unspecified(inner))
                        .map(|reason| format!("{reason}, which is always refused"))
                } else {
                    self.reason(IpAddr::V4(inner))
                };
                if let Some(reason) = reason {
                    return Some(format!("the {form} form of {inner}, which is {reason}"));
                }
            }
        }
        if let Some(net) = self.denied.iter().find(|net| net.contains(&address)) {
            return Some(format!("in delivery.denied_cidrs ({net})"));
        }
        let class = special_purpose(address)?;
        if self.allowed.iter().any(|net| net.contains(&address)) {
            return None;
        }
        Some(format!("not a public address ({class}); list it in delivery.allowed_cidrs to reach it"))
    }

    /// Checks a URL whose host is an IP literal (names are checked when they are
    /// resolved, on every connection).
    pub fn check_url(&self, url: &Url) -> Result<(), Refused> {
        match url.host() {
            Some(Host::Ipv4(address)) => self.check(IpAddr::V4(address)),
            Some(Host::Ipv6(address)) => self.check(IpAddr::V6(address)),
            Some(Host::Domain(_)) | None => Ok(()),
        }
    }

    /// The addresses of `host` the policy allows; an error when it allows none.
    pub fn filter(&self, host: &str, addresses: Vec<SocketAddr>) -> Result<Vec<SocketAddr>, HostRefused> {
        let mut refusals = Vec::new();
        let allowed: Vec<SocketAddr> = addresses
            .into_iter()
            .filter(|address| match self.check(address.ip()) {
                Ok(()) => true,
                Err(refused) => {
                    refusals.push(refused);
                    false
                }
            })
            .collect();
        if allowed.is_empty() && !refusals.is_empty() {
            return Err(HostRefused { host: host.to_owned(), refusals });
        }
        if !refusals.is_empty() {
            tracing::warn!(
                host,
                refused = refusals.len(),
                "Some addresses of a destination host are refused by the address policy."
            );
        }
        Ok(allowed)
    }
}

/// The relay's own listening sockets (the loop guard): a destination there is
/// the relay posting to itself, one alert becoming thousands. `serve` sets them
/// once its listener is bound; before that (and in the CLI) there are none.
#[derive(Debug, Default)]
pub struct OwnAddresses {
    listening: RwLock<Vec<SocketAddr>>,
}

impl OwnAddresses {
    /// The addresses the relay listens on from now on.
    pub fn set(&self, listening: Vec<SocketAddr>) {
        *self.listening.write().unwrap_or_else(std::sync::PoisonError::into_inner) = listening;
    }

    /// The listening socket a connection to `target` would reach, if any. The
    /// port must match; a wildcard listener (`0.0.0.0`, `[::]`) is reached on
    /// every address of this machine (`[::]` on IPv4 ones too: dual stack).
    pub fn reached_by(&self, target: SocketAddr) -> Option<SocketAddr> {
        let ip = target.ip().to_canonical();
        let listening = self.listening.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        listening.iter().copied().find(|own| {
            let own_ip = own.ip().to_canonical();
            own.port() == target.port()
                && match own_ip {
                    IpAddr::V4(address) if address.is_unspecified() => ip.is_ipv4() && is_local(ip),
                    IpAddr::V6(address) if address.is_unspecified() => is_local(ip),
                    own_ip => own_ip == ip,
                }
        })
    }

    /// Refuses `target` when it is one of the relay's own listening sockets.
    pub fn check(&self, target: SocketAddr) -> Result<(), Refused> {
        match self.reached_by(target) {
            Some(own) => Err(Refused {
                address: target.ip().to_canonical(),
                reason: format!("this relay's own listening address ({own}): delivering there would loop"),
            }),
            None => Ok(()),
        }
    }
}

/// Whether `address` belongs to this machine: loopback, or an address a socket
/// can be bound to (the kernel knows its own addresses; nothing is sent).
fn is_local(address: IpAddr) -> bool {
    address.is_loopback() || std::net::UdpSocket::bind(SocketAddr::new(address, 0)).is_ok()
}

/// The DNS resolver of every outgoing connection: the system resolver, then the
/// policy, then the loop guard. A name none of whose addresses is allowed fails
/// to connect, with the reason in the error; so does a name any of whose
/// addresses is the relay itself (on `port`, the port every connection of the
/// client this resolver belongs to goes to).
#[derive(Debug, Clone)]
pub struct PolicyResolver {
    policy: Arc<AddressPolicy>,
    own: Arc<OwnAddresses>,
    port: u16,
}

impl PolicyResolver {
    pub fn new(policy: Arc<AddressPolicy>, own: Arc<OwnAddresses>, port: u16) -> Self {
        Self { policy, own, port }
    }
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let (policy, own, port) = (Arc::clone(&self.policy), Arc::clone(&self.own), self.port);
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port)).await?.collect();
            // A name that leads to the relay itself is refused whole: its other
            // addresses are the same machine.
            if let Some(refused) = resolved.iter().find_map(|address| own.check(*address).err()) {
                return Err(Box::new(HostRefused { host, refusals: vec![refused] }) as Box<_>);
            }
            let allowed = policy.filter(&host, resolved)?;
            let addresses: Addrs = Box::new(allowed.into_iter());
            Ok(addresses)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("valid address")
    }

    fn policy(allowed: &[&str], denied: &[&str]) -> AddressPolicy {
        let owned = |list: &[&str]| list.iter().map(|text| (*text).to_owned()).collect::<Vec<_>>();
        AddressPolicy::new(&owned(allowed), &owned(denied)).expect("valid policy")
    }

    #[test]
    fn metadata_and_link_local_are_refused_whatever_the_configuration() {
        let open = policy(&["0.0.0.0/0", "::/0"], &[]);
        for (address, reason) in [
            ("169.254.169.254", "cloud metadata"),
            ("::ffff:169.254.169.254", "cloud metadata"),
            ("fd00:ec2::254", "cloud metadata"),
            ("100.100.100.200", "cloud metadata"),
            ("169.254.10.1", "link-local"),
            ("fe80::1", "link-local"),
            ("0.0.0.0", "unspecified"),
            ("::", "unspecified"),
        ] {
            let refused = open.check(ip(address)).expect_err(address);
            assert!(refused.to_string().contains(reason), "{address}: {refused}");
        }
    }

    /// Every special-purpose range the IANA registries mark as not globally
    /// reachable, with the word the refusal uses for it.
    const NOT_PUBLIC: [(&str, &str); 40] = [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.254", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "shared address space"),
        ("100.127.255.254", "shared address space"),
        ("192.0.0.8", "IETF protocol assignments"),
        ("192.0.2.10", "documentation"),
        ("198.51.100.7", "documentation"),
        ("203.0.113.200", "documentation"),
        ("198.18.0.1", "benchmarking"),
        ("198.19.255.1", "benchmarking"),
        ("192.88.99.1", "6to4 relay anycast"),
        ("224.0.0.251", "multicast"),
        ("239.255.255.250", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "broadcast"),
        ("::1", "loopback"),
        ("fc00::1", "unique local"),
        ("fd12:3456:789a::1", "unique local"),
        ("fec0::1", "site-local"),
        ("ff02::1", "multicast"),
        ("100::1", "discard"),
        ("2001:db8::1", "documentation"),
        ("3fff::1", "documentation"),
        ("2001:2::1", "benchmarking"),
        ("2001:10::1", "IETF protocol assignments"),
        ("5f00::1", "not a global unicast address"),
        ("4000::1", "not a global unicast address"),
        ("::ffff:10.1.2.3", "private"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::7f00:1", "loopback"),
        ("::a01:203", "private"),
        ("64:ff9b::7f00:1", "loopback"),
        ("64:ff9b::a00:1", "private"),
        ("64:ff9b:1::1", "local-use IPv4/IPv6 translation"),
        ("2002:a00:1::1", "private"),
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", "loopback"),
    ];

    #[test]
    fn the_default_policy_refuses_every_address_that_is_not_public() {
        let default = AddressPolicy::default();
        for (address, class) in NOT_PUBLIC {
            let refused = default.check(ip(address)).expect_err(address);
            let text = refused.to_string();
            assert!(text.contains(class), "{address}: {text}");
            assert!(text.contains("delivery.allowed_cidrs"), "{address} names the key that opens it: {text}");
        }
    }

    #[test]
    fn public_addresses_are_allowed_by_default_in_every_form() {
        let default = AddressPolicy::default();
        for address in [
            "8.8.8.8",
            "1.1.1.1",
            "100.63.255.255",
            "100.128.0.1",
            "172.15.255.255",
            "172.32.0.1",
            "192.0.0.9",
            "198.17.255.255",
            "198.20.0.1",
            "223.255.255.254",
            "2606:4700:4700::1111",
            "2a00:1450:4001:80b::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
            "2001:0:4136:e378:8000:63bf:f7f7:f7f7",
            "2001:4:112::1",
        ] {
            assert_eq!(default.check(ip(address)), Ok(()), "{address}");
        }
    }

    #[test]
    fn cloud_metadata_is_refused_in_every_ipv6_embedding() {
        let open = policy(&["0.0.0.0/0", "::/0"], &[]);
        for address in [
            "::ffff:169.254.169.254",
            "::ffff:a9fe:a9fe",
            "::a9fe:a9fe",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1:a9fe:a9:fe00::",
            "64:ff9b:1:0:a9:fea9:fe00:0",
            "64:ff9b:1::a9fe:a9fe",
            "2002:a9fe:a9fe::1",
            "2001:0:4136:e378:8000:63bf:5601:5601",
            "::ffff:100.100.100.200",
            "64:ff9b::6464:64c8",
        ] {
            let refused = open.check(ip(address)).expect_err(address);
            let text = refused.to_string();
            assert!(text.contains("cloud metadata") && text.contains("always refused"), "{address}: {text}");
        }
    }

    #[test]
    fn allowed_cidrs_open_non_public_ranges_in_every_form_and_denied_still_wins() {
        let rules = policy(&["127.0.0.0/8", "10.0.0.0/8", "fd00::/8"], &["10.9.0.0/16"]);
        for address in ["127.0.0.1", "::ffff:127.0.0.1", "64:ff9b::7f00:1", "10.1.2.3", "2002:a01:203::1", "fd00::5"] {
            assert_eq!(rules.check(ip(address)), Ok(()), "{address}");
        }
        for address in ["10.9.1.1", "::ffff:10.9.1.1", "64:ff9b::a09:101", "2002:a09:101::"] {
            let refused = rules.check(ip(address)).expect_err(address);
            assert!(refused.to_string().contains("delivery.denied_cidrs (10.9.0.0/16)"), "{address}: {refused}");
        }
        assert!(rules.check(ip("192.168.1.1")).is_err(), "only the listed ranges are opened");
        assert!(rules.check(ip("::1")).is_err(), "127.0.0.0/8 does not open IPv6 loopback");
        assert_eq!(rules.check(ip("8.8.8.8")), Ok(()), "public addresses stay reachable");
    }

    #[test]
    fn denied_wins_over_allowed_and_allowed_only_opens_more() {
        let rules = policy(&["10.0.0.0/8", "127.0.0.1"], &["10.9.0.0/16", "8.8.4.0/24"]);
        assert_eq!(rules.check(ip("10.1.2.3")), Ok(()));
        assert_eq!(rules.check(ip("127.0.0.1")), Ok(()));
        let denied = rules.check(ip("10.9.1.1")).expect_err("denied");
        assert_eq!(denied.to_string(), "10.9.1.1 is in delivery.denied_cidrs (10.9.0.0/16)");
        let outside = rules.check(ip("192.168.0.1")).expect_err("not opened");
        assert_eq!(
            outside.to_string(),
            "192.168.0.1 is not a public address (private (RFC 1918)); list it in delivery.allowed_cidrs to reach it"
        );
        assert_eq!(rules.check(ip("8.8.8.8")), Ok(()), "public addresses need no listing");
        assert!(rules.check(ip("8.8.4.4")).is_err(), "denied public addresses are refused");
        assert!(rules.check(ip("::ffff:10.9.1.1")).is_err(), "mapped IPv6 is judged as IPv4");
    }

    #[test]
    fn literal_urls_are_checked_and_names_left_to_resolution() {
        let rules = policy(&[], &["127.0.0.0/8", "::1"]);
        let url = |text: &str| Url::parse(text).expect("valid URL");
        assert!(rules.check_url(&url("http://127.0.0.1:8080/hook")).is_err());
        assert!(rules.check_url(&url("http://[::1]:8080/hook")).is_err());
        assert_eq!(rules.check_url(&url("http://localhost:8080/hook")), Ok(()));
    }

    #[test]
    fn a_host_with_only_refused_addresses_is_refused_with_every_reason() {
        let rules = policy(&[], &["127.0.0.0/8"]);
        let addresses = vec!["127.0.0.1:0".parse().expect("valid"), "[fe80::1]:0".parse().expect("valid")];
        let refused = rules.filter("rebind.example", addresses).expect_err("refused");
        assert_eq!(
            refused.to_string(),
            "the address policy refuses rebind.example: 127.0.0.1 is in delivery.denied_cidrs (127.0.0.0/8); \
             fe80::1 is link-local, which is always refused"
        );
        let mixed = vec!["127.0.0.1:0".parse().expect("valid"), "8.8.8.8:0".parse().expect("valid")];
        assert_eq!(rules.filter("mixed.example", mixed), Ok(vec!["8.8.8.8:0".parse().expect("valid")]));
    }

    #[test]
    fn the_loop_guard_matches_the_listening_port_on_the_listening_or_any_local_address() {
        let socket = |text: &str| text.parse::<SocketAddr>().expect("valid socket address");
        let own = OwnAddresses::default();
        assert_eq!(own.reached_by(socket("127.0.0.1:8080")), None, "nothing before serve");

        own.set(vec![socket("127.0.0.1:8080")]);
        assert_eq!(own.reached_by(socket("127.0.0.1:8080")), Some(socket("127.0.0.1:8080")));
        assert_eq!(own.reached_by(socket("[::ffff:127.0.0.1]:8080")), Some(socket("127.0.0.1:8080")));
        assert_eq!(own.reached_by(socket("127.0.0.1:8081")), None, "another port is not the relay");
        assert_eq!(own.reached_by(socket("127.0.0.2:8080")), None, "another address is not the relay");
        let refused = own.check(socket("127.0.0.1:8080")).expect_err("refused");
        assert_eq!(
            refused.to_string(),
            "127.0.0.1 is this relay's own listening address (127.0.0.1:8080): delivering there would loop"
        );

        own.set(vec![socket("0.0.0.0:8080")]);
        for local in ["127.0.0.1:8080", "127.0.0.2:8080", "[::ffff:127.0.0.1]:8080"] {
            assert_eq!(own.reached_by(socket(local)), Some(socket("0.0.0.0:8080")), "{local}");
        }
        for other in ["192.0.2.1:8080", "[::1]:8080", "127.0.0.1:8081"] {
            assert_eq!(own.reached_by(socket(other)), None, "{other}");
        }

        own.set(vec![socket("[::]:8080")]);
        for local in ["[::1]:8080", "127.0.0.1:8080"] {
            assert_eq!(own.reached_by(socket(local)), Some(socket("[::]:8080")), "{local}");
        }
        for other in ["[2001:db8::1]:8080", "192.0.2.1:8080", "[::1]:9"] {
            assert_eq!(own.reached_by(socket(other)), None, "{other}");
        }
    }

    #[test]
    fn bad_entries_name_their_key() {
        let error = AddressPolicy::new(&[], &["10.0.0.0/8".into(), "ten".into()]).expect_err("invalid");
        assert_eq!(error, "delivery.denied_cidrs[1]: `ten` is not a CIDR (10.0.0.0/8, fd00::/8) or an IP address");
    }
}
