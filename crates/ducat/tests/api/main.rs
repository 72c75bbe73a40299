//! Behaviour tests through the public HTTP and command-line surfaces, each run against both
//! SQLite and PostgreSQL.

mod helpers;

mod authentication;
mod bad_input;
mod bank_crash;
mod bank_debits;
mod bank_inflows;
mod bank_network;
mod bank_reconcile;
mod bank_support;
mod browser;
mod checkouts;
mod cli;
mod crash;
mod dashboard_auth;
mod dashboard_browser;
mod dashboard_integration;
mod dashboard_money;
mod dashboard_settings;
mod dashboard_support;
mod direct_payments;
mod group_commit;
mod hostile_input;
mod hot_wallet;
mod idempotency;
mod isolation;
mod ledger;
mod multi_node;
mod operations;
mod otp_guessing;
mod payment_links;
mod payouts;
mod sandbox;
mod slow_clients;
mod sms_delivery;
mod wallets_and_banks;
mod webhooks;
mod withdrawals;
