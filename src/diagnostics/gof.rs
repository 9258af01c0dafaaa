//! Goodness-of-fit tests (placeholder).
