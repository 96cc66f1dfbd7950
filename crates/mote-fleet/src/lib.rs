//! The device side of Mote's fleet (Linux devices): a model store with A/B slots and atomic
//! commits ([`store`]) and the safeguard gate ([`gate`]) that decides, on the device, whether a
//! verified package may replace the model being served. [`api`] holds the fleet server's wire
//! types (serde only) and, with the `client` feature, [`client`] a blocking HTTP client of it.

pub mod api;
#[cfg(feature = "client")]
pub mod client;
pub mod gate;
pub mod store;

pub use gate::GateReport;
pub use store::{Installed, Reverted, SlotRecord, State, Store, StoreError};
