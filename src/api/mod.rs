//! What users call: [`GraphClient`](client::GraphClient) and its builder ([`client`]), an
//! operation with its options ([`call`]), the
//! device reads and writes ([`devices`]), the checked ids ([`ids`]), the account check ([`account`]), verification
//! ([`verify`]) and bulk runs ([`bulk`]). The top layer: it imports `request`, `error` and
//! `signin`, and nothing imports it but the crate root.

pub(crate) mod account;
pub(crate) mod bulk;
pub(crate) mod call;
pub(crate) mod client;
pub(crate) mod device_fields;
pub(crate) mod devices;
pub(crate) mod http;
pub(crate) mod ids;
pub(crate) mod serial_pages;
pub(crate) mod verify;
