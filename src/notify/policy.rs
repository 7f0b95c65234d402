//! The destination address policy: which IP addresses the relay may connect to.
//!
//! Every address is checked where the connection is made — after DNS resolution,
//! on every new connection (a [`PolicyResolver`] inside each HTTP client), and for
//! URLs that name an IP literal (which skip DNS) before the request is sent — so a
//! name that resolves to an allowed address once and to a metadata service later
//! ("DNS rebinding") cannot slip through. Owns the rules only; sending lives in
//! [`super::http`].
//!
//! The rules, in order: link-local, cloud metadata and unspecified addresses are
//! always refused; then `delivery.denied_cidrs` refuses; then, when
//! `delivery.allowed_cidrs` is not empty, only the addresses it lists are allowed.
//! Loopback is allowed unless denied (loopback receivers are how labs and tests
//! work). IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are judged as IPv4.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

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

/// Which addresses destinations may have.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    /// When not empty, the only networks allowed (`delivery.allowed_cidrs`).
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

fn always_refused() -> impl Iterator<Item = (IpNet, &'static str)> {
    ALWAYS_REFUSED.iter().filter_map(|(net, reason)| net.parse::<IpNet>().ok().map(|net| (net, *reason)))
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
        let refuse = |reason: String| Err(Refused { address, reason });
        if let Some((_, reason)) = always_refused().find(|(net, _)| net.contains(&address)) {
            return refuse(format!("{reason}, which is always refused"));
        }
        if let Some(net) = self.denied.iter().find(|net| net.contains(&address)) {
            return refuse(format!("in delivery.denied_cidrs ({net})"));
        }
        if !self.allowed.is_empty() && !self.allowed.iter().any(|net| net.contains(&address)) {
            return refuse("not in delivery.allowed_cidrs".to_owned());
        }
        Ok(())
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

/// The DNS resolver of every outgoing connection: the system resolver, then the
/// policy. A name none of whose addresses is allowed fails to connect, with
/// the reason in the error.
#[derive(Debug, Clone)]
pub struct PolicyResolver {
    policy: Arc<AddressPolicy>,
}

impl PolicyResolver {
    pub fn new(policy: Arc<AddressPolicy>) -> Self {
        Self { policy }
    }
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = Arc::clone(&self.policy);
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
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

    #[test]
    fn loopback_and_public_addresses_are_allowed_by_default() {
        let default = AddressPolicy::default();
        for address in ["127.0.0.1", "::1", "192.0.2.10", "2001:db8::1", "10.1.2.3"] {
            assert_eq!(default.check(ip(address)), Ok(()), "{address}");
        }
    }

    #[test]
    fn denied_wins_over_allowed_and_allowed_is_a_whitelist() {
        let rules = policy(&["10.0.0.0/8", "127.0.0.1"], &["10.9.0.0/16"]);
        assert_eq!(rules.check(ip("10.1.2.3")), Ok(()));
        assert_eq!(rules.check(ip("127.0.0.1")), Ok(()));
        let denied = rules.check(ip("10.9.1.1")).expect_err("denied");
        assert_eq!(denied.to_string(), "10.9.1.1 is in delivery.denied_cidrs (10.9.0.0/16)");
        let outside = rules.check(ip("192.0.2.1")).expect_err("outside the allow list");
        assert_eq!(outside.to_string(), "192.0.2.1 is not in delivery.allowed_cidrs");
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
        let mixed = vec!["127.0.0.1:0".parse().expect("valid"), "192.0.2.1:0".parse().expect("valid")];
        assert_eq!(rules.filter("mixed.example", mixed), Ok(vec!["192.0.2.1:0".parse().expect("valid")]));
    }

    #[test]
    fn bad_entries_name_their_key() {
        let error = AddressPolicy::new(&[], &["10.0.0.0/8".into(), "ten".into()]).expect_err("invalid");
        assert_eq!(error, "delivery.denied_cidrs[1]: `ten` is not a CIDR (10.0.0.0/8, fd00::/8) or an IP address");
    }
}
