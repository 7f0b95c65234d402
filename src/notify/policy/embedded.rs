//! Decoding the IPv4 address an IPv6 address carries — IPv4-mapped,
//! IPv4-compatible, NAT64 (`64:ff9b::/96`, and the local-use `64:ff9b:1::/48`
//! at every RFC 6052 position), 6to4 and Teredo — so that the policy can judge
//! the embedded address by the IPv4 rules. Decoding only; no verdicts.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

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
