//! The device side of Mote's fleet (Linux devices): a model store with A/B slots and atomic
//! commits ([`store`]) and the safeguard gate ([`gate`]) that decides, on the device, whether a
//! verified package may replace the model being served.

pub mod gate;
pub mod store;

pub use gate::GateReport;
pub use store::{Installed, State, Store, StoreError};
