//! Empty: the comparison is the bench target `benches/peers.rs`.
