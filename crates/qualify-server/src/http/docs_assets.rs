//! The docs page's assets (Swagger UI) are embedded in the binary gzipped, which keeps it 3 MB
//! smaller, and are served as such to clients that accept gzip (every browser). A client that
//! does not say so (`curl` without `--compressed`, a script) gets them decompressed here, since
//! an answer in an encoding the client did not accept is one it can't read. Each asset is
//! decompressed once and kept (a dozen files, 4 MB in all), so such requests cost no more than
//! a browser's.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// The largest asset decompressed (Swagger UI's bundle is 1.5 MB).
const LARGEST_ASSET: usize = 8 << 20;

/// The assets decompressed so far, by path: only paths whose answer was gzipped, which are the
/// embedded assets, so it holds a dozen entries at most.
fn decompressed() -> &'static Mutex<HashMap<String, Bytes>> {
    static DECOMPRESSED: OnceLock<Mutex<HashMap<String, Bytes>>> = OnceLock::new();
    DECOMPRESSED.get_or_init(Mutex::default)
}

pub(crate) async fn gunzip_unless_accepted(request: Request, next: Next) -> Response {
    let accepts_gzip = accepts_gzip(request.headers());
    let path = request.uri().path().to_owned();
    let mut response = next.run(request).await;
    response
        .headers_mut()
        .append(header::VARY, HeaderValue::from_static("accept-encoding"));
    let gzipped = response
        .headers()
        .get(header::CONTENT_ENCODING)
        .is_some_and(|encoding| encoding.as_bytes().eq_ignore_ascii_case(b"gzip"));
    if accepts_gzip || !gzipped {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let known = decompressed()
        .lock()
        .ok()
        .and_then(|known| known.get(&path).cloned());
    let plain = match known {
        Some(plain) => Ok(plain),
        None => match axum::body::to_bytes(body, LARGEST_ASSET).await {
            Ok(compressed) => gunzip(&compressed).map(Bytes::from),
            Err(error) => Err(error.to_string()),
        },
    };
    match plain {
        Ok(plain) => {
            if let Ok(mut known) = decompressed().lock() {
                known.insert(path, plain.clone());
            }
            parts.headers.remove(header::CONTENT_ENCODING);
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(plain))
        }
        Err(error) => {
            ApiError::internal(format!("decompressing a docs asset: {error}")).into_response()
        }
    }
}

/// Whether `Accept-Encoding` accepts gzip: named without `q=0`, or else `*` without `q=0`
/// (an explicit entry for gzip overrides the wildcard, as RFC 9110 says).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    let codings: Vec<(&str, bool)> = headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .is_some_and(|q| q.parse::<f32>().is_ok_and(|q| q == 0.0))
            });
            (name, !refused)
        })
        .collect();
    let accepted = |wanted: &str| {
        codings
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(wanted))
            .map(|(_, accepted)| *accepted)
    };
    accepted("gzip").or_else(|| accepted("*")).unwrap_or(false)
}

fn gunzip(compressed: &[u8]) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut plain = Vec::new();
    // One byte past the limit tells an asset that is too large from one that just fits.
    flate2::read::GzDecoder::new(compressed)
        .take(LARGEST_ASSET as u64 + 1)
        .read_to_end(&mut plain)
        .map_err(|error| error.to_string())?;
    if plain.len() > LARGEST_ASSET {
        return Err(format!("larger than {LARGEST_ASSET} bytes decompressed"));
    }
    Ok(plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn gzip_is_accepted_when_named_or_wildcarded_and_not_refused() {
        assert!(accepts_gzip(&accept("gzip, deflate, br")));
        assert!(accepts_gzip(&accept("br;q=1.0, GZIP;q=0.5")));
        assert!(accepts_gzip(&accept("*")));
        assert!(!accepts_gzip(&accept("gzip;q=0")));
        assert!(
            !accepts_gzip(&accept("*, gzip;q=0")),
            "gzip refused by name"
        );
        assert!(!accepts_gzip(&accept("br, deflate")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
