//! Partner Center's collection envelope, with continuation-token paging.

use serde::{Deserialize, Serialize};

use crate::CONTINUATION_TOKEN_HEADER;

/// A page of a collection: `{"totalCount", "items", "links", "attributes"}`.
///
/// As in Partner Center, `totalCount` counts the items of this page, and the next page is
/// fetched by sending the `MS-ContinuationToken` header that `links.next` carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Collection<T> {
    /// How many items this page holds.
    pub total_count: u64,
    /// The items of this page.
    pub items: Vec<T>,
    /// `self`, and `next` when there is another page.
    #[serde(default)]
    pub links: CollectionLinks,
    /// `{"objectType": "Collection"}`.
    pub attributes: Attributes,
}

impl<T> Collection<T> {
    /// A page of `items`, linking to `self_uri`, with a next page when `continuation` is set:
    /// as Partner Center writes it, `self_uri` with `seekOperation=next`, and the token in the
    /// `MS-ContinuationToken` header.
    pub fn page(items: Vec<T>, self_uri: String, continuation: Option<String>) -> Self {
        let separator = if self_uri.contains('?') { '&' } else { '?' };
        let next = continuation.map(|token| Link {
            uri: format!("{self_uri}{separator}seekOperation=next"),
            method: "GET".into(),
            headers: vec![HeaderPair {
                key: CONTINUATION_TOKEN_HEADER.into(),
                value: token,
            }],
        });
        Self {
            total_count: items.len() as u64,
            items,
            links: CollectionLinks {
                self_link: Some(Link {
                    uri: self_uri,
                    method: "GET".into(),
                    headers: Vec::new(),
                }),
                next,
            },
            attributes: Attributes::new("Collection"),
        }
    }

    /// The token that fetches the next page, if there is one.
    pub fn continuation_token(&self) -> Option<&str> {
        self.links.next.as_ref().and_then(|next| {
            next.headers
                .iter()
                .find(|h| h.key.eq_ignore_ascii_case(CONTINUATION_TOKEN_HEADER))
                .map(|h| h.value.as_str())
        })
    }
}

/// The links of a collection page.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CollectionLinks {
    /// This page.
    #[serde(rename = "self", default, skip_serializing_if = "Option::is_none")]
    pub self_link: Option<Link>,
    /// The next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<Link>,
}

/// A link: where to send which request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Link {
    /// A path relative to the API root, e.g. `/v1/customers?size=100`.
    pub uri: String,
    /// The HTTP method, always `GET` here.
    pub method: String,
    /// Headers to send with it.
    #[serde(default)]
    pub headers: Vec<HeaderPair>,
}

/// One header of a [`Link`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HeaderPair {
    /// Header name.
    pub key: String,
    /// Header value.
    pub value: String,
}

/// Partner Center's `attributes` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Attributes {
    /// The resource type, e.g. `Customer` or `Collection`.
    pub object_type: String,
}

impl Attributes {
    /// Attributes naming `object_type`.
    pub fn new(object_type: &str) -> Self {
        Self {
            object_type: object_type.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_page_with_more_to_come_links_next_with_the_continuation_header() {
        let page = Collection::page(
            vec![1, 2],
            "/v1/customers?size=2".into(),
            Some("abc".into()),
        );
        assert_eq!(
            serde_json::to_value(&page).unwrap(),
            json!({
                "totalCount": 2,
                "items": [1, 2],
                "links": {
                    "self": {"uri": "/v1/customers?size=2", "method": "GET", "headers": []},
                    "next": {"uri": "/v1/customers?size=2&seekOperation=next", "method": "GET",
                             "headers": [{"key": "MS-ContinuationToken", "value": "abc"}]}
                },
                "attributes": {"objectType": "Collection"}
            })
        );
        assert_eq!(page.continuation_token(), Some("abc"));
    }

    #[test]
    fn the_last_page_has_no_next_link() {
        let page = Collection::page(vec!["x"], "/v1/customers".into(), None);
        assert_eq!(page.continuation_token(), None);
        assert!(page.links.next.is_none());
    }
}
