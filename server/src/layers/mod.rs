//! The axum middleware every page and server function passes through, in the
//! order a request meets them (see `router` in `lib.rs`): the real client
//! address behind trusted proxies ([`client`]), security headers
//! ([`headers`]), same-origin posts ([`origin`]), sign-in redirects
//! ([`gate`]), the no-JavaScript form path ([`forms`]), server-function
//! statuses ([`api_errors`]) and the refusals they record ([`refused`]).
//! The workload API under `/v1` takes none of them but `client`.

pub mod api_errors;
pub mod client;
pub mod forms;
pub mod gate;
pub mod headers;
pub mod origin;
pub mod refused;
