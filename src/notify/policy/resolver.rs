//! The connect-time check: the DNS resolver every outgoing HTTP client uses,
//! which resolves a destination's name and then applies the address policy and
//! the loop guard to every address, on every new connection (so DNS rebinding
//! cannot slip through).

use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::{AddressPolicy, HostRefused, OwnAddresses};

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
