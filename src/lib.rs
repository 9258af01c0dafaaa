//! `langevin`: sampling with Langevin dynamics and the SDE numerics around it.

pub mod diagnostics;
