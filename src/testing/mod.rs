//! How to test your own sampler or integrator: public tools built on the crate's exact
//! oracles (convergence-order estimation, discretisation-bias estimation with Richardson
//! extrapolation, conformance checks of a kernel's stationary law, statistical assertion
//! helpers).

mod bias;
pub mod conformance;
pub mod order;

pub use bias::{BiasEstimate, BiasStudy, Estimate};

pub use order::{
    ExactReference, FineReference, OrderConfig, OrderEstimate, OrderFit, Reference, estimate_order,
};
