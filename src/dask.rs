//! # floe for dask users
//!
//! (filled in below)
