//! Kernel Stein discrepancy (placeholder).
