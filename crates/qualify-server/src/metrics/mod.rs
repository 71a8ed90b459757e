//! Metrics on the HTTP side: the layer that counts and times every request, and `/metrics` on
//! the listener of `--metrics-listen`. What is counted, and the counts read from the database,
//! are the core's (`qualify_app::metrics`).

pub(crate) mod http;
pub(crate) mod scrape;

/// The method as a label: one of HTTP's, or `other` (a client may send any token as a method).
pub(crate) fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_method_no_standard_names_is_counted_as_other() {
        let odd = axum::http::Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&odd), "other");
        assert_eq!(method_label(&axum::http::Method::PUT), "PUT");
    }
}
