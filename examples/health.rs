//! The health report on two runs that go wrong (the guide's section "When a run goes wrong"):
//! MALA with a step far too large (every proposal rejected), and MALA with an adapted step on
//! Neal's 10-d funnel (the chains do not mix in the neck).
//!
//! ```sh
//! cargo run --release --example health
//! ```

use langevin::prelude::*;
use langevin::targets::{Funnel, Gaussian};

fn main() -> Result<(), langevin::Error> {
    // 1. A frozen chain: h = 10⁶ on N(0, I₂) rejects every proposal.
    let mala = Mala::new(Gaussian::<f64>::standard(2)?, 1e6)?;
    let trace = Sampler::new(1_000).seed(1).run(&mala, &[vec![0.5, -0.5]])?;
    println!("{}", trace.summary(None)?);

    // 2. Neal's funnel, d = 10, MALA with its step adapted by dual averaging.
    let funnel = Funnel::<f64>::new(10, 3.0)?;
    let trace = Sampler::new(2_000)
        .seed(10)
        .run(&Mala::auto(funnel)?, &[vec![0.0; 10]])?;
    println!("\n{}", trace.check());

    // 3. Strict mode: the same run as an error that carries the trace.
    let funnel = Funnel::<f64>::new(10, 3.0)?;
    let run = Sampler::new(2_000).seed(10).strict(true);
    match run.run(&Mala::auto(funnel)?, &[vec![0.0; 10]]) {
        Ok(_) => println!("\nhealthy"),
        Err(e) => {
            let trace =
                Trace::<f64>::from_error(&e).expect("a strict run's error carries its trace");
            println!(
                "\nstrict: {} warning(s), {} draws kept",
                trace.warnings().len(),
                trace.n_draws
            );
        }
    }
    Ok(())
}
