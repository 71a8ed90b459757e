//! `GET /v1/customers/all/validations`: the partner's GCC validation codes, with how many
//! customers each may still qualify.

use axum::extract::State;
use qualify_store::ValidationCodeRecord;
use qualify_types::ValidationCode;

use crate::error::ApiError;
use crate::http::auth::Partner;
use crate::state::AppState;
use crate::wire::Wire;

/// Partner Center's entity tag of a code: `W/"datetime'<time, colons percent-encoded>'"`.
fn e_tag(record: &ValidationCodeRecord) -> String {
    let at = record
        .updated_at
        .as_datetime()
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string();
    format!("W/\"datetime'{}'\"", at.replace(':', "%3A"))
}

/// A stored code as Partner Center shows it.
fn validation_code_dto(record: ValidationCodeRecord) -> ValidationCode {
    ValidationCode {
        e_tag: e_tag(&record),
        partner_id: record.partner_tenant_id,
        organization_name: record.organization_name,
        validation_id: record.validation_id,
        max_creates: record.max_creates,
        remaining_creates: record.remaining_creates,
    }
}

/// List the partner's GCC validation codes.
///
/// The calling partner's codes, as a bare array.
#[utoipa::path(get, path = "/v1/customers/all/validations", tag = "partner-center", operation_id = "listValidationCodes",
    responses((status = 200, description = "The partner's GCC validation codes", body = Vec<ValidationCode>)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    Partner(caller): Partner,
) -> Result<Wire<Vec<ValidationCode>>, ApiError> {
    let codes = state
        .app
        .store()
        .validation_codes(Some(caller.tenant_id))
        .await?;
    Ok(Wire::ok(
        codes.into_iter().map(validation_code_dto).collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use qualify_types::{TenantId, Timestamp};

    #[test]
    fn the_e_tag_has_partner_centers_datetime_form() {
        let record = ValidationCodeRecord {
            partner_tenant_id: TenantId::random(),
            validation_id: "12345".into(),
            organization_name: "Contoso, Inc.".into(),
            max_creates: 5,
            remaining_creates: 4,
            updated_at: Timestamp::from_unix_millis(1_539_197_398_727).unwrap(),
        };
        assert_eq!(
            e_tag(&record),
            "W/\"datetime'2018-10-10T18%3A49%3A58.727000Z'\""
        );
    }
}
