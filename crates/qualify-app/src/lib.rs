//! Qualify's application core: every write the product makes, as use cases behind one façade,
//! with identity, events, jobs, settings and the clock, and nothing of HTTP. `qualify-server`
//! adapts it to HTTP; `qualify admin` and the tests drive it directly.

pub mod clock;
pub mod identity;
pub mod partners;
pub mod settings;
pub mod vetting_rules;

pub use clock::{Clock, ManualClock, wall_now};
pub use settings::Settings;
