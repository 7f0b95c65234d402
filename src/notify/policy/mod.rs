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
//!
//! This file owns the rules ([`AddressPolicy`]); the registries they consult are
//! in `special.rs`, the decoding of embedded IPv4 addresses in `embedded.rs`,
//! the loop guard in `loop_guard.rs` and the resolver that applies both on
//! every connection in `resolver.rs`.

mod embedded;
mod loop_guard;
mod resolver;
mod special;

use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;
use url::{Host, Url};

pub use embedded::embedded_ipv4;
pub use loop_guard::OwnAddresses;
pub use resolver::PolicyResolver;
pub use special::special_purpose;

use special::{always_refused, is_unspecified};

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
    fn bad_entries_name_their_key() {
        let error = AddressPolicy::new(&[], &["10.0.0.0/8".into(), "ten".into()]).expect_err("invalid");
        assert_eq!(error, "delivery.denied_cidrs[1]: `ten` is not a CIDR (10.0.0.0/8, fd00::/8) or an IP address");
    }
}
