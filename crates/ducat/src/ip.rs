//! Addresses: CIDR allowlists and which address a request really came from.

use ipnet::IpNet;
use std::net::IpAddr;

/// Parses `"10.0.0.0/8, 192.168.1.7"`: a bare address is a one-address network.
pub fn parse_cidr_list(text: &str) -> Result<Vec<IpNet>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(parse_cidr)
        .collect()
}

pub fn parse_cidr(text: &str) -> Result<IpNet, String> {
    if let Ok(net) = text.parse::<IpNet>() {
        return Ok(net.trunc());
    }
    text.parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| format!("{text:?} is not an IP address or CIDR range"))
}

pub fn format_cidr_list(nets: &[IpNet]) -> String {
    nets.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// An empty allowlist admits everyone; otherwise the address must fall in one of the ranges.
pub fn allowed(allowlist: &[IpNet], address: IpAddr) -> bool {
    let address = canonical(address);
    allowlist.is_empty() || allowlist.iter().any(|net| net.contains(&address))
}

/// IPv4 clients on a dual-stack socket show up as `::ffff:a.b.c.d`; allowlists speak IPv4.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(address),
        IpAddr::V4(_) => address,
    }
}

/// The client's address: the peer's, unless the peer is a trusted proxy, in which case the
/// right-most `X-Forwarded-For` entry that is not itself a trusted proxy. Taking the right-most
/// untrusted hop means a client cannot forge its way in by prepending addresses.
pub fn client_address(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |addr: &IpAddr| trusted.iter().any(|net| net.contains(&canonical(*addr)));
    if !is_trusted(&peer) {
        return canonical(peer);
    }
    let Some(header) = forwarded_for else {
        return canonical(peer);
    };
    let mut hops: Vec<IpAddr> = Vec::new();
    for part in header.split(',') {
        match part.trim().parse::<IpAddr>() {
            Ok(addr) => hops.push(addr),
            // A malformed chain cannot be trusted past this point.
            Err(_) => return canonical(peer),
        }
    }
    hops.into_iter()
        .rev()
        .find(|addr| !is_trusted(addr))
        .map(canonical)
        .unwrap_or_else(|| canonical(peer))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn allowlists_match_ranges_and_single_addresses() {
        let list = parse_cidr_list("10.0.0.0/8, 192.168.1.7").unwrap();
        assert!(allowed(&list, ip("10.1.2.3")));
        assert!(allowed(&list, ip("192.168.1.7")));
        assert!(allowed(&list, ip("::ffff:10.9.9.9")));
        assert!(!allowed(&list, ip("192.168.1.8")));
        assert!(allowed(&[], ip("8.8.8.8")));
        assert!(parse_cidr_list("10.0.0.0/33").is_err());
        assert!(parse_cidr_list("example.com").is_err());
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxies = parse_cidr_list("127.0.0.1").unwrap();
        assert_eq!(
            client_address(ip("127.0.0.1"), Some("1.2.3.4, 5.6.7.8"), &proxies),
            ip("5.6.7.8")
        );
        assert_eq!(
            client_address(ip("9.9.9.9"), Some("1.2.3.4"), &proxies),
            ip("9.9.9.9")
        );
        assert_eq!(
            client_address(ip("127.0.0.1"), Some("nonsense"), &proxies),
            ip("127.0.0.1")
        );
        assert_eq!(
            client_address(ip("127.0.0.1"), Some("1.2.3.4"), &[]),
            ip("127.0.0.1")
        );
    }
}
