//! Where a request comes from, as the throttles count it: an IPv4 address, or an IPv6
//! address's /64 (the smallest block a host is given, so rotating addresses within it is still
//! one source). The HTTP adapter finds the address (`trusted_proxies` included); the core only
//! counts by it.

use std::net::IpAddr;

/// A source, as 128 bits; 0 when the server does not know (a request made in process, in tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Source(u128);

impl Source {
    pub(crate) fn of(address: Option<IpAddr>) -> Self {
        Self(match address {
            None => 0,
            Some(IpAddr::V4(v4)) => u128::from(v4.to_ipv6_mapped()),
            // An IPv4 address written as IPv6 is that IPv4 address.
            Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => u128::from(v4.to_ipv6_mapped()),
                None => u128::from(v6) & !u128::from(u64::MAX),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(text: &str) -> Source {
        Source::of(Some(text.parse().unwrap()))
    }

    #[test]
    fn an_ipv6_64_is_one_source_and_an_ipv4_address_is_one_however_written() {
        assert_eq!(of("2001:db8:1:2::1"), of("2001:db8:1:2:ffff::9"));
        assert_ne!(of("2001:db8:1:2::1"), of("2001:db8:1:3::1"));
        assert_eq!(of("203.0.113.7"), of("::ffff:203.0.113.7"));
        assert_ne!(of("203.0.113.7"), of("203.0.113.8"));
    }
}
