//! The request path, under the wrapper methods: one call ([`call`]), progenitor's hooks
//! around every request ([`hooks`]: token, ids, retries, throttling, bounded bodies), and what
//! they use: a call's options and metadata ([`options`]), the id rule ([`ids`]), OData text ([`odata`]), the retry policy ([`retry`],
//! [`retry_after`]) and the client-wide throttle ([`throttle`]). It imports `error` and
//! `signin`, never `api`.

pub(crate) mod call;
pub(crate) mod hooks;
pub(crate) mod ids;
pub(crate) mod odata;
pub(crate) mod options;
pub(crate) mod retry;
pub(crate) mod retry_after;
pub(crate) mod throttle;
