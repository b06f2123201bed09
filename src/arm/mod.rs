//! Everything that talks to (or describes) Azure Resource Manager.

pub mod lenient;
pub mod models;

pub use lenient::Lenient;
