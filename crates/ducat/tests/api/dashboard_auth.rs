//! Dashboard tests: dashboard_auth.
