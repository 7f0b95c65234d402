//! Destinations the address policy will always refuse, found without any network
//! I/O: IP-literal hosts, and names that always mean this machine (`localhost`,
//! `*.localhost`, RFC 6761). `flockrelay check` reports them as problems naming
//! the destination's key; `flockrelay serve` logs them at start. Names that need
//! DNS are judged when the relay connects (see [`crate::notify::policy`]).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

use super::validate::Problem;
use super::Config;
use crate::notify::policy::AddressPolicy;
use crate::notify::splunk_hec::event_url;

/// One problem per configured destination whose host the policy refuses
/// whatever DNS says. Empty when the policy itself is invalid (validation
/// reports that).
pub fn unreachable_destinations(config: &Config) -> Vec<Problem> {
    let Ok(policy) = AddressPolicy::new(&config.delivery.allowed_cidrs, &config.delivery.denied_cidrs) else {
        return Vec::new();
    };
    let mut problems = Vec::new();
    for (name, destination) in &config.destinations {
        let key = format!("destinations.{name}");
        let mut urls: Vec<(String, Url)> = Vec::new();
        if let Some(slack) = &destination.slack {
            urls.push((format!("{key}.slack.url"), slack.url.clone()));
        }
        if let Some(teams) = &destination.ms_teams {
            urls.push((format!("{key}.ms_teams.url"), teams.url.clone()));
        }
        if let Some(generic) = &destination.generic {
            urls.push((format!("{key}.generic.url"), generic.url.clone()));
        }
        if let Some(url) = destination.splunk.as_ref().and_then(|splunk| event_url(splunk).ok()) {
            urls.push((format!("{key}.splunk.host"), url));
        }
        for (key, url) in urls {
            if let Some(reason) = refusal(&policy, &url) {
                problems.push(Problem { key, reason });
            }
        }
    }
    problems
}

/// Why every connection to `url`'s host would be refused, if it would (one
/// allowed address is enough to deliver).
fn refusal(policy: &AddressPolicy, url: &Url) -> Option<String> {
    let addresses: Vec<IpAddr> = match url.host()? {
        Host::Ipv4(address) => vec![IpAddr::V4(address)],
        Host::Ipv6(address) => vec![IpAddr::V6(address)],
        Host::Domain(name) if is_localhost(name) => {
            vec![IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V6(Ipv6Addr::LOCALHOST)]
        }
        Host::Domain(_) => return None,
    };
    let mut refusals = Vec::new();
    for address in addresses {
        match policy.check(address) {
            Ok(()) => return None,
            Err(refused) => refusals.push(refused.to_string()),
        }
    }
    let host = url.host_str().unwrap_or_default();
    Some(format!("the address policy refuses every delivery to {host}: {}", refusals.join("; ")))
}

/// `localhost` and its subdomains always resolve to loopback (RFC 6761 §6.3).
fn is_localhost(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}
