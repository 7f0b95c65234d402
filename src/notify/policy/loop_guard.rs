//! The loop guard: the relay's own listening sockets, and whether a
//! connection would reach one of them however the address is written (a
//! wildcard listener is reached on every address of this machine). Apart from
//! the address policy, and checked on every connection by [`super::PolicyResolver`].

use std::net::{IpAddr, SocketAddr};
use std::sync::RwLock;

use super::Refused;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
