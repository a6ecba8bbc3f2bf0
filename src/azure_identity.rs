//! Token source adapter for `azure_core` credentials (work in progress).
