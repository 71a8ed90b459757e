//! Partners as a reviewer reads them: by display name, with the tenant id kept for the detail
//! (a GUID tells a reviewer nothing; the name is what they know a partner by).

use std::collections::{HashMap, HashSet};

use qualify_store::{Store, VettingRecord};
use qualify_types::TenantId;

use crate::error::ApiError;

/// The partners that submitted `records`, each once.
pub(crate) fn of<'a>(records: impl IntoIterator<Item = &'a VettingRecord>) -> HashSet<TenantId> {
    records.into_iter().map(|r| r.partner_tenant_id).collect()
}

/// The display names of `partners`, by tenant id. A page shows at most a few dozen requests, so
/// this is one primary-key read per distinct partner on it.
pub(crate) async fn names(
    store: &Store,
    partners: HashSet<TenantId>,
) -> Result<PartnerNames, ApiError> {
    let mut names = HashMap::with_capacity(partners.len());
    for partner in partners {
        if let Some(tenant) = store.find_tenant(partner).await? {
            names.insert(partner, tenant.name);
        }
    }
    Ok(PartnerNames(names))
}

/// Partners' display names, looked up once per page.
#[derive(Debug, Default)]
pub(crate) struct PartnerNames(HashMap<TenantId, String>);

impl PartnerNames {
    /// `partner`'s display name; its tenant id when it has none (a name is never empty, but a
    /// tenant can't be guaranteed to still exist when a page renders).
    pub(crate) fn of(&self, partner: TenantId) -> String {
        self.0
            .get(&partner)
            .filter(|name| !name.trim().is_empty())
            .cloned()
            .unwrap_or_else(|| partner.to_string())
    }
}
