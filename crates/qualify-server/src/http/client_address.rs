//! The address a request came from, as the brute-force lock-outs count failures by it: the
//! connection's peer; or, when the peer is a reverse proxy the operator trusts
//! (`trusted_proxies`), the client `X-Forwarded-For` names. The header is read from its right,
//! past every trusted proxy, so that an address a client wrote into it itself is never believed.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap};
use ipnet::IpNet;

use crate::state::AppState;

/// The proxies' own header.
const FORWARDED_FOR: &str = "x-forwarded-for";

/// The client's address, when the request came over a connection (not in process).
pub(crate) fn client_address(
    extensions: &Extensions,
    headers: &HeaderMap,
    trusted_proxies: &[IpNet],
) -> Option<IpAddr> {
    let peer = extensions.get::<ConnectInfo<SocketAddr>>()?.0.ip();
    let trusted = |ip: &IpAddr| trusted_proxies.iter().any(|net| net.contains(ip));
    if !trusted(&peer) {
        return Some(peer);
    }
    // Each proxy appends the address it got the request from: from the right, past the trusted
    // proxies, the first address is the client's. Left of it is what the client wrote itself,
    // never read; an entry that is not an address stops the walk at the last proxy reached.
    let hops: Vec<&str> = headers
        .get_all(FORWARDED_FOR)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .collect();
    let mut reached = peer;
    for hop in hops.into_iter().rev() {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) if trusted(&ip) => reached = ip,
            Ok(ip) => return Some(ip),
            Err(_) => break,
        }
    }
    Some(reached)
}

/// The client's address as a handler takes it: `None` for a request made in process.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientAddress(pub(crate) Option<IpAddr>);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let trusted = &state.settings().http.trusted_proxies;
        Ok(Self(client_address(
            &parts.extensions,
            &parts.headers,
            trusted,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn request(peer: &str, forwarded: &[&str]) -> (Extensions, HeaderMap) {
        let mut extensions = Extensions::new();
        extensions.insert(ConnectInfo(SocketAddr::new(peer.parse().unwrap(), 4321)));
        let mut headers = HeaderMap::new();
        for value in forwarded {
            headers.append(FORWARDED_FOR, HeaderValue::from_str(value).unwrap());
        }
        (extensions, headers)
    }

    fn address(peer: &str, forwarded: &[&str], trusted: &[&str]) -> Option<IpAddr> {
        let (extensions, headers) = request(peer, forwarded);
        let trusted: Vec<IpNet> = trusted.iter().map(|net| net.parse().unwrap()).collect();
        client_address(&extensions, &headers, &trusted)
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        assert_eq!(address("198.51.100.9", &[], &[]), ip("198.51.100.9"));
        assert_eq!(
            address("198.51.100.9", &["203.0.113.7"], &["10.0.0.0/8"]),
            ip("198.51.100.9"),
            "a client writing the header itself is not believed"
        );
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_hop_is_the_client() {
        let trusted = ["10.0.0.0/8", "192.0.2.1/32"];
        assert_eq!(
            address("10.1.2.3", &["203.0.113.7"], &trusted),
            ip("203.0.113.7")
        );
        // A client's own forged entry is to the left of what the proxies appended.
        assert_eq!(
            address("10.1.2.3", &["1.2.3.4, 203.0.113.7", "192.0.2.1"], &trusted),
            ip("203.0.113.7")
        );
        // Nothing forwarded: the peer. Every hop trusted: the first of them (a client inside
        // the operator's own network). An unreadable header: the last proxy reached.
        assert_eq!(address("10.1.2.3", &[], &trusted), ip("10.1.2.3"));
        assert_eq!(address("10.1.2.3", &["10.9.9.9"], &trusted), ip("10.9.9.9"));
        assert_eq!(
            address("10.1.2.3", &["not an address"], &trusted),
            ip("10.1.2.3")
        );
        assert_eq!(
            address("10.1.2.3", &["garbage, 192.0.2.1"], &trusted),
            ip("192.0.2.1"),
            "the walk stops at the last proxy before what is not an address"
        );
    }

    #[test]
    fn a_request_made_in_process_has_no_address() {
        assert_eq!(
            client_address(&Extensions::new(), &HeaderMap::new(), &[]),
            None
        );
    }
}
