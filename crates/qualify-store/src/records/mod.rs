//! What the store hands out: typed records, converted from rows in one place so a malformed
//! stored value is reported as corruption instead of travelling upwards as a string. Tenants,
//! applications, users and signing keys are in `identity`; customers, vetting requests and GCC
//! codes in `vetting`.

mod identity;
mod vetting;

use std::str::FromStr;

use qualify_types::Timestamp;

use crate::StoreError;

pub use identity::{AppRecord, SigningKeyRecord, TenantKind, TenantRecord, UserRecord, UserRole};
pub(crate) use identity::{AppRow, SigningKeyRow, TenantRow, UserRow};
pub use vetting::{BillingRecord, CustomerRecord, ValidationCodeRecord, VettingRecord};
pub(crate) use vetting::{
    CustomerRow, ValidationCodeRow, VettingRow, channel_str, state_of, vetting_state,
};

pub(crate) fn parse<T: FromStr>(column: &'static str, value: &str) -> Result<T, StoreError> {
    value
        .parse()
        .map_err(|_| StoreError::corrupt(column, value))
}

pub(crate) fn timestamp(column: &'static str, millis: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_unix_millis(millis)
        .ok_or_else(|| StoreError::corrupt(column, &millis.to_string()))
}

fn count(column: &'static str, value: i64) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| StoreError::corrupt(column, &value.to_string()))
}
