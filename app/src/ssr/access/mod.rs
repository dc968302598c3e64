//! The doors (top layer): what a server function does first (find the caller,
//! check the role, record the call: [`Act`]), the workload door that hands out
//! values ([`workload`]), and the one error map ([`errors`]) from every failure
//! below to what a caller is told. The only layer that names Leptos or a request.

mod act;
mod errors;
pub mod workload;
pub use act::*;
pub use errors::*;
