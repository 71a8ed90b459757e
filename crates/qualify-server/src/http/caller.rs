//! The verified caller's tenant, made known to the layers around the handler (the request log,
//! the test control plane's journal) without verifying the token a second time: the layer runs the handler
//! [`watch`]ed, authentication [`note`]s the tenant it verified, and the layer reads it
//! ([`noted`]) once the handler has answered. A task-local rather than a request extension, so
//! that a request pays no allocation for it.

use std::cell::Cell;
use std::pin::Pin;

use qualify_types::TenantId;
use tokio::task::futures::TaskLocalFuture;

tokio::task_local! {
    static CALLER: Cell<Option<TenantId>>;
}

/// A handler's future, run where authentication can note its caller.
pub(crate) type Watched<F> = TaskLocalFuture<Cell<Option<TenantId>>, F>;

/// Runs `handling` where authentication can note its caller.
pub(crate) fn watch<F: Future>(handling: F) -> Watched<F> {
    CALLER.scope(Cell::new(None), handling)
}

/// The caller authentication noted while `watched` ran; asked once it has finished. A layer
/// further out may be watching the same request (the request log around the test control
/// plane's journal): it is told too.
pub(crate) fn noted<F: Future>(watched: Pin<&mut Watched<F>>) -> Option<TenantId> {
    let tenant = watched.take_value().and_then(Cell::into_inner);
    if let Some(tenant) = tenant {
        note(tenant);
    }
    tenant
}

/// Notes the verified caller, for a layer that [`watch`]es (nothing when none does).
pub(crate) fn note(tenant: TenantId) {
    let _ = CALLER.try_with(|caller| caller.set(Some(tenant)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_caller_noted_while_watched_is_seen_and_nowhere_else() {
        let tenant: TenantId = "00000000-0000-4000-8000-000000000001".parse().unwrap();
        let mut watched = std::pin::pin!(watch(async { note(tenant) }));
        watched.as_mut().await;
        assert_eq!(noted(watched), Some(tenant));
        let mut unwatched = std::pin::pin!(watch(async {}));
        unwatched.as_mut().await;
        assert_eq!(noted(unwatched), None);
        // Outside any layer, noting does nothing (and does not panic).
        note(tenant);
    }

    #[tokio::test]
    async fn a_caller_noted_inside_nested_watchers_reaches_both() {
        let tenant: TenantId = "00000000-0000-4000-8000-000000000002".parse().unwrap();
        let mut outer = std::pin::pin!(watch(async {
            let mut inner = std::pin::pin!(watch(async { note(tenant) }));
            inner.as_mut().await;
            noted(inner)
        }));
        let inner_saw = outer.as_mut().await;
        assert_eq!(inner_saw, Some(tenant));
        assert_eq!(noted(outer), Some(tenant));
    }
}
