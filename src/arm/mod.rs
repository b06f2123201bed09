//! Everything that talks to (or describes) Azure Resource Manager.

pub mod client;
pub mod error;
pub mod lenient;
pub mod models;
pub mod provider_limit;
pub mod ratelimit;
pub mod redact;
pub mod retry_after;
pub mod sanitize;

pub use client::{ArmClient, ArmClientOptions, CallStats};
pub use error::ArmError;
pub use lenient::Lenient;
