//! Qualify's application core: every write the product makes, as use cases behind one façade
//! ([`Qualify`]), with identity, events, jobs, settings and the clock, and nothing of HTTP.
//! `qualify-server` adapts it to HTTP; `qualify admin` and the tests drive it directly.
//!
//! The modules, from the ground up: [`clock`] and [`settings`] (what everything reads);
//! [`metrics`]; [`identity`] (tokens, credentials, who calls); [`vetting_rules`] and
//! [`partners`] (the rules and each partner's clock); [`jobs`] (background work, knowing no
//! kind); [`events`] (the outbox and deliveries, each a job kind); [`usecases`] (each write,
//! over one transaction; a rule's timed decision is a job kind there); [`audit`] (the trail
//! as it is read); [`admin`] (the operator's writes); and the façade.

pub mod admin;
pub mod audit;
pub mod clock;
pub mod events;
pub mod identity;
pub mod jobs;
pub mod metrics;
pub mod partners;
mod qualify;
pub mod settings;
mod source;
pub mod usecases;
pub mod vetting_rules;

pub use clock::{Clock, ManualClock, wall_now};
pub use qualify::{Core, OpenError, Qualify};
pub use settings::Settings;
