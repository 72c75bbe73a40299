//! Dashboard tests: dashboard_money.
