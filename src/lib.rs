//! scready: audits an Azure estate for Serial Console readiness.
//!
//! Data flows one way: credentials → ARM client → discovery → inventory → checks → findings →
//! report sinks. The simulator (`sim`) emulates the ARM endpoints the scanner reads.

pub mod arm;
pub mod cli;
pub mod config_file;
pub mod rbac;
pub mod sim;
