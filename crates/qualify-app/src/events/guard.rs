//! Where a partner's events may be sent. A partner names its receiver's URL, and the server
//! POSTs to it from inside the operator's network: without a guard, a partner could make Qualify
//! reach its loopback, private or link-local services (SSRF). Unless the operator allows private
//! addresses (`--webhook-allow-private`, on by default with `--dev`, where receivers run on the
//! same machine), a receiver must be a public address: checked when the URL is registered, and
//! again at every delivery, on the addresses the name resolves to then (so a name that later
//! resolves elsewhere is caught), through the HTTP client's own resolver.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// Whether `ip` is an address on the public internet: not loopback, private, link-local,
/// shared (carrier-grade NAT), multicast, documentation, benchmarking or reserved. An IPv6
/// address that carries an IPv4 address (mapped, compatible, translated, 6to4, NAT64, ISATAP)
/// is judged by that address too: a router or translator may deliver it there.
pub(crate) fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6) && embedded_ipv4(v6).is_none_or(is_public_v4),
    }
}

/// The IPv4 address an IPv6 address carries, where its prefix says it carries one.
fn embedded_ipv4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let v4 = |high: u16, low: u16| Some(Ipv4Addr::from((u32::from(high) << 16) | u32::from(low)));
    match s {
        // ::a.b.c.d (IPv4-compatible, deprecated) and ::ffff:a.b.c.d (IPv4-mapped).
        [0, 0, 0, 0, 0, 0 | 0xffff, high, low] => v4(high, low),
        // ::ffff:0:a.b.c.d (IPv4-translated, SIIT).
        [0, 0, 0, 0, 0xffff, 0, high, low] => v4(high, low),
        // 64:ff9b::a.b.c.d (NAT64's well-known prefix).
        [0x0064, 0xff9b, 0, 0, 0, 0, high, low] => v4(high, low),
        // 2002:a.b.c.d::/48 (6to4).
        [0x2002, high, low, ..] => v4(high, low),
        // …::0:5efe:a.b.c.d and …::200:5efe:a.b.c.d (ISATAP), under any prefix.
        [_, _, _, _, 0 | 0x0200, 0x5efe, high, low] => v4(high, low),
        _ => None,
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space, RFC 6598
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking, RFC 2544
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || ip.is_unique_local()
        || ip.is_unicast_link_local()
        || first == 0x2001 && ip.segments()[1] == 0x0db8 // documentation
        // Teredo: the IPv4 addresses it carries are obscured; no receiver needs it.
        || first == 0x2001 && ip.segments()[1] == 0
        // NAT64 for local use (RFC 8215): its IPv4 address may sit anywhere in it.
        || first == 0x0064 && ip.segments()[1] == 0xff9b && ip.segments()[2] == 1)
}

/// Why a receiver's URL is refused, if it is: not http(s), no host, or (unless `allow_private`)
/// an address that is not public. A host name is checked when it is resolved.
pub(crate) fn check_url(url: &Url, allow_private: bool) -> Result<(), String> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err("it must be an http or https URL".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("it must not hold credentials".into());
    }
    let ip = match url.host() {
        None => return Err("it has no host".into()),
        Some(Host::Domain(_)) => return Ok(()),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip),
    };
    if allow_private || is_public(ip) {
        Ok(())
    } else {
        Err(format!(
            "{ip} is not a public address (this server does not deliver to loopback, private or link-local addresses)"
        ))
    }
}

/// A resolver that answers only a name's public addresses, and fails for a name with none.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PublicAddressesOnly;

impl Resolve for PublicAddressesOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = resolved
                .iter()
                .copied()
                .filter(|address| is_public(address.ip()))
                .collect();
            if public.is_empty() {
                let error: Box<dyn std::error::Error + Send + Sync> = format!(
                    "{host} resolves to no public address (this server does not deliver to loopback, private or link-local addresses)"
                )
                .into();
                return Err(error);
            }
            let addresses: Addrs = Box::new(public.into_iter());
            Ok(addresses)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_not_public() {
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            // IPv4-compatible, translated (SIIT), 6to4 and ISATAP, each carrying an internal
            // address; Teredo and local-use NAT64 whatever they carry.
            "::127.0.0.1",
            "::10.0.0.1",
            "::ffff:0:127.0.0.1",
            "::ffff:0:a9fe:a9fe",
            "2002:7f00:1::1",
            "2002:a9fe:a9fe::",
            "2002:c0a8:101:1::1",
            "2606:4700::5efe:10.0.0.1",
            "2606:4700::200:5efe:127.0.0.1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "64:ff9b:1::808:808",
        ] {
            assert!(!is_public(internal.parse().unwrap()), "{internal}");
        }
        for public in [
            "8.8.8.8",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
            // The same shapes carrying a public address.
            "::ffff:0:808:808",
            "2002:808:808::1",
            "64:ff9b::808:808",
            "2606:4700::5efe:8.8.8.8",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn a_receivers_url_is_checked_unless_private_addresses_are_allowed() {
        let url = |text: &str| Url::parse(text).unwrap();
        assert!(check_url(&url("https://receiver.example.com/hook"), false).is_ok());
        assert!(check_url(&url("https://8.8.8.8/hook"), false).is_ok());
        for refused in [
            "http://127.0.0.1:8080/hook",
            "http://[::1]/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://10.0.0.5/hook",
        ] {
            assert!(check_url(&url(refused), false).is_err(), "{refused}");
            assert!(check_url(&url(refused), true).is_ok(), "{refused}");
        }
        assert!(check_url(&url("ftp://receiver.example.com/"), true).is_err());
        assert!(check_url(&url("https://user:pw@receiver.example.com/"), true).is_err());
    }

    #[tokio::test]
    async fn names_resolving_only_to_internal_addresses_are_refused() {
        let resolved = PublicAddressesOnly
            .resolve("localhost".parse().unwrap())
            .await;
        let error = resolved.err().expect("localhost is refused");
        assert!(error.to_string().contains("no public address"), "{error}");
    }
}
