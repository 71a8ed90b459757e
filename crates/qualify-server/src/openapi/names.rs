//! Names a client generator turns into clean identifiers. utoipa writes a generic page as
//! `Collection_Customer`, with the customer's schema copied inline into its items, so generators
//! made a second, anonymous customer type (`CollectionCustomerItemsItem`) beside `Customer`. Here
//! each page becomes `CustomerCollection`, its items a reference to the one `Customer`.

use serde_json::{Value, json};

/// What utoipa names a page of `T`: `Collection_T`.
const GENERIC_PREFIX: &str = "Collection_";

/// Renames each `Collection_T` to `TCollection`, with its items referring to `T`, and every
/// reference to it with it.
pub(super) fn collections_by_reference(document: &mut Value) {
    let Some(schemas) = document["components"]["schemas"].as_object_mut() else {
        return;
    };
    let generic: Vec<String> = schemas
        .keys()
        .filter(|name| name.starts_with(GENERIC_PREFIX))
        .cloned()
        .collect();
    let mut renamed = Vec::new();
    for name in generic {
        let item = &name[GENERIC_PREFIX.len()..];
        let Some(mut schema) = schemas.remove(&name) else {
            continue;
        };
        assert!(
            schemas.contains_key(item),
            "a page of {item}, which the document does not name"
        );
        schema["properties"]["items"]["items"] =
            json!({"$ref": format!("#/components/schemas/{item}")});
        let clean = format!("{item}Collection");
        schemas.insert(clean.clone(), schema);
        renamed.push((
            format!("#/components/schemas/{name}"),
            format!("#/components/schemas/{clean}"),
        ));
    }
    rewrite_references(document, &renamed);
}

/// Every `$ref` in `value` naming a schema of `renamed`'s first column, made its second.
fn rewrite_references(value: &mut Value, renamed: &[(String, String)]) {
    match value {
        Value::Object(object) => {
            for (key, member) in object.iter_mut() {
                if key == "$ref"
                    && let Some(to) = member
                        .as_str()
                        .and_then(|from| renamed.iter().find(|(old, _)| old == from))
                {
                    *member = Value::String(to.1.clone());
                } else {
                    rewrite_references(member, renamed);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                rewrite_references(item, renamed);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generic_page_becomes_a_named_one_referring_to_its_items() {
        let mut document = json!({
            "paths": {"/v1/customers": {"get": {"responses": {"200": {"content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Collection_Customer"}}}}}}}},
            "components": {"schemas": {
                "Customer": {"type": "object"},
                "Collection_Customer": {"type": "object", "properties": {
                    "items": {"type": "array", "items": {"type": "object", "description": "copied"}}}},
            }},
        });
        collections_by_reference(&mut document);
        let schemas = &document["components"]["schemas"];
        assert!(schemas.get("Collection_Customer").is_none());
        assert_eq!(
            schemas["CustomerCollection"]["properties"]["items"]["items"],
            json!({"$ref": "#/components/schemas/Customer"})
        );
        assert_eq!(
            document["paths"]["/v1/customers"]["get"]["responses"]["200"]["content"]["application/json"]
                ["schema"]["$ref"],
            "#/components/schemas/CustomerCollection"
        );
    }
}
