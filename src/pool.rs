//! Thread pools for every parallel loop of the crate (the multi-chain driver, the particle
//! samplers, the multi-path SDE solver).
//!
//! A loop runs on rayon's global pool, or — when the user asked for a number of threads — on
//! a dedicated pool of that size. Building a pool costs 75–100 µs (measured), so dedicated
//! pools are built once per thread count and cached for the life of the process. Results never
//! depend on the choice of pool: each chain, path or particle owns its random stream.

use crate::{Error, Result};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// The cache of dedicated pools, one per requested thread count.
fn cache() -> &'static Mutex<HashMap<usize, Arc<rayon::ThreadPool>>> {
    static POOLS: OnceLock<Mutex<HashMap<usize, Arc<rayon::ThreadPool>>>> = OnceLock::new();
    POOLS.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The cached dedicated pool of `threads` threads (built on first use).
fn dedicated(threads: usize) -> Result<Arc<rayon::ThreadPool>> {
    // A poisoned lock only means another thread panicked while inserting; the map itself is
    // still a valid cache, so recover it rather than propagate the panic.
    let mut pools = cache().lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = pools.get(&threads) {
        return Ok(Arc::clone(p));
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::InvalidConfig {
            reason: format!("cannot build a pool of {threads} threads: {e}"),
        })?;
    let pool = Arc::new(pool);
    pools.insert(threads, Arc::clone(&pool));
    Ok(pool)
}

/// Runs `job` on rayon's global pool (`threads = None`) or on the cached dedicated pool of
/// `threads` threads; `Some(0)` is [`Error::ZeroCount`].
pub(crate) fn in_pool<R: Send>(
    threads: Option<usize>,
    job: impl FnOnce() -> R + Send,
) -> Result<R> {
    match threads {
        Some(0) => Err(Error::ZeroCount { what: "threads" }),
        Some(n) => Ok(dedicated(n)?.install(job)),
        None => Ok(job()),
    }
}

/// The message of a caught panic: its `&str` or `String` payload, or a placeholder.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic with a non-string payload".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedicated_pools_are_cached_per_thread_count() {
        let a = dedicated(2).unwrap();
        let b = dedicated(2).unwrap();
        let c = dedicated(1).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(in_pool(Some(2), rayon::current_num_threads).unwrap(), 2);
        assert_eq!(in_pool(Some(1), rayon::current_num_threads).unwrap(), 1);
    }
}
