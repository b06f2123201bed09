//! The fleet simulator: an HTTPS emulation of the ARM endpoints scready reads.

pub mod demo;
pub mod faults;
pub mod fleet;
pub mod generate;
pub mod observe;
pub mod rbac_data;
pub mod throttle;
pub mod tls;
pub mod tokens;
pub mod world;
