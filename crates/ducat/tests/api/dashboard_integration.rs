//! Dashboard tests: dashboard_integration.
