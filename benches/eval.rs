//! Benchmarks (placeholder until the eval benches land).
fn main() {}
