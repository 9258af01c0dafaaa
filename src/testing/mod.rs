//! How to test your own sampler or integrator: public tools built on the crate's exact
//! oracles (convergence-order estimation, conformance checks of a kernel's stationary law,
//! statistical assertion helpers).

pub mod conformance;
pub mod order;

pub use order::{
    ExactReference, FineReference, OrderConfig, OrderEstimate, OrderFit, Reference, estimate_order,
};
