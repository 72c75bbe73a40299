//! Dashboard tests: dashboard_settings.
