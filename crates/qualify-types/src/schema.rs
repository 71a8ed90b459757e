//! OpenAPI schemas of the values whose JSON form is hand-written here (ids, timestamps, the
//! string enums, the SDK-shaped list), for the server's `/openapi.json`. Structs derive theirs.

use std::borrow::Cow;

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{
    ArrayBuilder, KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type,
};
use utoipa::{PartialSchema, ToSchema};

/// A string of a known format.
pub(crate) fn formatted_string(format: KnownFormat, description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(format)))
        .description(Some(description))
        .into()
}

/// A string of one of `names`.
pub(crate) fn string_enum(names: &[&str], description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(names.iter().copied()))
        .description(Some(description))
        .into()
}

impl PartialSchema for crate::Timestamp {
    fn schema() -> RefOr<Schema> {
        formatted_string(
            KnownFormat::DateTime,
            "UTC, RFC 3339, millisecond precision, e.g. 2020-12-03T10:37:38.885Z",
        )
    }
}

impl ToSchema for crate::Timestamp {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Timestamp")
    }
}

impl PartialSchema for crate::SdkQualifications<'_> {
    /// A bare array whose items name the date `vettingCreateDate`.
    fn schema() -> RefOr<Schema> {
        let item = ObjectBuilder::new()
            .schema_type(Type::Object)
            .property("qualification", crate::Qualification::schema())
            .required("qualification")
            .property("vettingStatus", crate::VettingStatus::schema())
            .required("vettingStatus")
            .property(
                "vettingReason",
                ObjectBuilder::new().schema_type(Type::String),
            )
            .property("vettingCreateDate", crate::Timestamp::schema())
            .description(Some("One qualification, as Microsoft's .NET SDK reads it."));
        ArrayBuilder::new()
            .items(item)
            .description(Some(
                "The `sdk` profile's qualification list: a bare array.",
            ))
            .into()
    }
}

impl ToSchema for crate::SdkQualifications<'_> {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("SdkQualifications")
    }
}
