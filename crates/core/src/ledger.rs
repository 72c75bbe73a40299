//! The double-entry ledger: accounts, postings, the journal entries each money movement makes,
//! and the invariants that every state of the ledger must satisfy.
//!
//! Sign convention: a posting's amount is positive for a credit and negative for a debit, and
//! every journal entry sums to zero. A wallet account is what ducat owes the business, so its
//! balance (the sum of its postings) is what the business has. `bank_settlement` mirrors money
//! held at the bank, so it carries a debit (negative) balance while money sits there.

use crate::ids::WalletRef;
use crate::money::{Currency, MinorUnits};
use std::collections::BTreeMap;
use std::fmt;

/// What an account is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AccountKind {
    /// A business's spendable money.
    Available,
    /// A business's money reserved for payouts in flight.
    Held,
    /// Money that entered or left through the bank rail.
    BankSettlement,
    /// Fees ducat earned.
    Fees,
    /// Money received that matched nothing (a wrong checkout amount) until it is returned.
    Suspense,
}

impl AccountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::Available => "available",
            AccountKind::Held => "held",
            AccountKind::BankSettlement => "bank_settlement",
            AccountKind::Fees => "fees",
            AccountKind::Suspense => "suspense",
        }
    }

    pub fn parse(text: &str) -> Option<AccountKind> {
        [
            AccountKind::Available,
            AccountKind::Held,
            AccountKind::BankSettlement,
            AccountKind::Fees,
            AccountKind::Suspense,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == text)
    }

    /// Whether the ledger may ever show this account below zero. A business can never spend
    /// money it does not have; suspense and fees only ever receive before they give back.
    pub fn may_go_negative(self) -> bool {
        match self {
            AccountKind::BankSettlement => true,
            AccountKind::Available
            | AccountKind::Held
            | AccountKind::Fees
            | AccountKind::Suspense => false,
        }
    }
}

/// One account of the ledger: a wallet's available or held money, or a system account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Account {
    Wallet {
        wallet: WalletRef,
        kind: WalletAccount,
    },
    System {
        currency: Currency,
        kind: SystemAccount,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WalletAccount {
    Available,
    Held,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SystemAccount {
    BankSettlement,
    Fees,
    Suspense,
}

impl Account {
    pub fn available(wallet: &WalletRef) -> Account {
        Account::Wallet {
            wallet: wallet.clone(),
            kind: WalletAccount::Available,
        }
    }

    pub fn held(wallet: &WalletRef) -> Account {
        Account::Wallet {
            wallet: wallet.clone(),
            kind: WalletAccount::Held,
        }
    }

    pub fn system(currency: Currency, kind: SystemAccount) -> Account {
        Account::System { currency, kind }
    }

    pub fn kind(&self) -> AccountKind {
        match self {
            Account::Wallet { kind, .. } => match kind {
                WalletAccount::Available => AccountKind::Available,
                WalletAccount::Held => AccountKind::Held,
            },
            Account::System { kind, .. } => match kind {
                SystemAccount::BankSettlement => AccountKind::BankSettlement,
                SystemAccount::Fees => AccountKind::Fees,
                SystemAccount::Suspense => AccountKind::Suspense,
            },
        }
    }

    /// The account's stable key in the store: `wal_…:available`, `system:NGN:fees`.
    pub fn key(&self) -> String {
        match self {
            Account::Wallet { wallet, .. } => format!("{wallet}:{}", self.kind().as_str()),
            Account::System { currency, .. } => {
                format!("system:{currency}:{}", self.kind().as_str())
            }
        }
    }
}

impl fmt::Display for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

/// One line of a journal entry: a signed amount on one account (credit positive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posting {
    pub account: Account,
    pub amount: MinorUnits,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("a journal entry needs at least two postings")]
    TooFewPostings,
    #[error("a posting of zero on {0} carries no information")]
    ZeroPosting(String),
    #[error("postings sum to {0} instead of zero")]
    Unbalanced(i64),
    #[error("an amount overflowed")]
    Overflow,
    #[error("amounts of a movement must be positive")]
    NonPositiveAmount,
    #[error("a fee of {fee} cannot exceed the amount {amount}")]
    FeeExceedsAmount { amount: i64, fee: i64 },
    #[error("account {account} would go below zero ({balance} + {change})")]
    InsufficientFunds {
        account: String,
        balance: i64,
        change: i64,
    },
}

/// A balanced set of postings in one currency. Constructible only through [`JournalEntry::new`]
/// or the movement functions below, so an unbalanced entry cannot exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    currency: Currency,
    postings: Vec<Posting>,
}

impl JournalEntry {
    pub fn new(currency: Currency, postings: Vec<Posting>) -> Result<JournalEntry, LedgerError> {
        if postings.len() < 2 {
            return Err(LedgerError::TooFewPostings);
        }
        let mut sum: i64 = 0;
        for posting in &postings {
            if posting.amount == MinorUnits::ZERO {
                return Err(LedgerError::ZeroPosting(posting.account.key()));
            }
            sum = sum
                .checked_add(posting.amount.get())
                .ok_or(LedgerError::Overflow)?;
        }
        if sum != 0 {
            return Err(LedgerError::Unbalanced(sum));
        }
        Ok(JournalEntry { currency, postings })
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    pub fn postings(&self) -> &[Posting] {
        &self.postings
    }
}

fn require_positive(amount: MinorUnits) -> Result<(), LedgerError> {
    if amount.is_positive() {
        Ok(())
    } else {
        Err(LedgerError::NonPositiveAmount)
    }
}

fn neg(amount: MinorUnits) -> Result<MinorUnits, LedgerError> {
    amount.checked_neg().ok_or(LedgerError::Overflow)
}

/// Builds an entry from postings, dropping zero lines (a zero fee is no posting at all).
fn entry(
    currency: Currency,
    lines: Vec<(Account, MinorUnits)>,
) -> Result<JournalEntry, LedgerError> {
    let postings = lines
        .into_iter()
        .filter(|(_, amount)| *amount != MinorUnits::ZERO)
        .map(|(account, amount)| Posting { account, amount })
        .collect();
    JournalEntry::new(currency, postings)
}

/// Money arrived at the bank for a wallet: the business gets `gross - fee`, ducat the fee.
pub fn inflow(
    wallet: &WalletRef,
    currency: Currency,
    gross: MinorUnits,
    fee: MinorUnits,
) -> Result<JournalEntry, LedgerError> {
    require_positive(gross)?;
    if fee.get() < 0 || fee > gross {
        return Err(LedgerError::FeeExceedsAmount {
            amount: gross.get(),
            fee: fee.get(),
        });
    }
    let net = gross.checked_sub(fee).ok_or(LedgerError::Overflow)?;
    entry(
        currency,
        vec![
            (
                Account::system(currency, SystemAccount::BankSettlement),
                neg(gross)?,
            ),
            (Account::available(wallet), net),
            (Account::system(currency, SystemAccount::Fees), fee),
        ],
    )
}

/// Reserves money for a payout in flight.
pub fn hold(
    wallet: &WalletRef,
    currency: Currency,
    amount: MinorUnits,
) -> Result<JournalEntry, LedgerError> {
    require_positive(amount)?;
    entry(
        currency,
        vec![
            (Account::available(wallet), neg(amount)?),
            (Account::held(wallet), amount),
        ],
    )
}

/// Gives a hold back in full: the payout did not happen.
pub fn release(
    wallet: &WalletRef,
    currency: Currency,
    amount: MinorUnits,
) -> Result<JournalEntry, LedgerError> {
    require_positive(amount)?;
    entry(
        currency,
        vec![
            (Account::held(wallet), neg(amount)?),
            (Account::available(wallet), amount),
        ],
    )
}

/// A held payout left through the bank: `amount` went to the recipient, `fee` to ducat.
pub fn settle_hold(
    wallet: &WalletRef,
    currency: Currency,
    amount: MinorUnits,
    fee: MinorUnits,
) -> Result<JournalEntry, LedgerError> {
    require_positive(amount)?;
    let total = amount.checked_add(fee).ok_or(LedgerError::Overflow)?;
    entry(
        currency,
        vec![
            (Account::held(wallet), neg(total)?),
            (
                Account::system(currency, SystemAccount::BankSettlement),
                amount,
            ),
            (Account::system(currency, SystemAccount::Fees), fee),
        ],
    )
}

/// Money arrived that matches nothing we can credit; it waits in suspense until returned.
pub fn receive_unmatched(
    currency: Currency,
    amount: MinorUnits,
) -> Result<JournalEntry, LedgerError> {
    require_positive(amount)?;
    entry(
        currency,
        vec![
            (
                Account::system(currency, SystemAccount::BankSettlement),
                neg(amount)?,
            ),
            (Account::system(currency, SystemAccount::Suspense), amount),
        ],
    )
}

/// Unmatched money sent back to its sender.
pub fn return_unmatched(
    currency: Currency,
    amount: MinorUnits,
) -> Result<JournalEntry, LedgerError> {
    require_positive(amount)?;
    entry(
        currency,
        vec![
            (
                Account::system(currency, SystemAccount::Suspense),
                neg(amount)?,
            ),
            (
                Account::system(currency, SystemAccount::BankSettlement),
                amount,
            ),
        ],
    )
}

/// Balances of every account an entry touched, kept in memory: the reference model the
/// store's balances are checked against, and the rule that no constrained account dips below zero.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Balances {
    by_account: BTreeMap<Account, i64>,
}

impl Balances {
    pub fn balance(&self, account: &Account) -> MinorUnits {
        MinorUnits(self.by_account.get(account).copied().unwrap_or(0))
    }

    /// Applies an entry all or nothing.
    pub fn apply(&mut self, entry: &JournalEntry) -> Result<(), LedgerError> {
        let mut next = Vec::with_capacity(entry.postings().len());
        for posting in entry.postings() {
            let balance = self.balance(&posting.account).get();
            let new_balance = balance
                .checked_add(posting.amount.get())
                .ok_or(LedgerError::Overflow)?;
            if new_balance < 0 && !posting.account.kind().may_go_negative() {
                return Err(LedgerError::InsufficientFunds {
                    account: posting.account.key(),
                    balance,
                    change: posting.amount.get(),
                });
            }
            next.push((posting.account.clone(), new_balance));
        }
        self.by_account.extend(next);
        Ok(())
    }

    /// The sum over all accounts; zero in every reachable state.
    pub fn total(&self) -> i64 {
        self.by_account.values().sum()
    }

    pub fn accounts(&self) -> impl Iterator<Item = (&Account, MinorUnits)> {
        self.by_account.iter().map(|(a, b)| (a, MinorUnits(*b)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::{rngs::StdRng, SeedableRng};

    fn wallet(seed: u64) -> WalletRef {
        WalletRef::generate(&mut StdRng::seed_from_u64(seed))
    }

    #[test]
    fn unbalanced_entries_cannot_be_built() {
        let w = wallet(1);
        let err = JournalEntry::new(
            Currency::Ngn,
            vec![
                Posting {
                    account: Account::available(&w),
                    amount: MinorUnits(5),
                },
                Posting {
                    account: Account::held(&w),
                    amount: MinorUnits(-4),
                },
            ],
        );
        assert_eq!(err, Err(LedgerError::Unbalanced(1)));
    }

    #[test]
    fn an_inflow_credits_net_and_fee() {
        let w = wallet(2);
        let mut balances = Balances::default();
        balances
            .apply(&inflow(&w, Currency::Ngn, MinorUnits(10_000), MinorUnits(150)).unwrap())
            .unwrap();
        assert_eq!(balances.balance(&Account::available(&w)), MinorUnits(9_850));
        assert_eq!(
            balances.balance(&Account::system(Currency::Ngn, SystemAccount::Fees)),
            MinorUnits(150)
        );
        assert_eq!(balances.total(), 0);
    }

    #[test]
    fn a_hold_beyond_available_is_refused_and_changes_nothing() {
        let w = wallet(3);
        let mut balances = Balances::default();
        balances
            .apply(&inflow(&w, Currency::Ngn, MinorUnits(100), MinorUnits::ZERO).unwrap())
            .unwrap();
        let before = balances.clone();
        let refused = balances.apply(&hold(&w, Currency::Ngn, MinorUnits(101)).unwrap());
        assert!(matches!(
            refused,
            Err(LedgerError::InsufficientFunds { .. })
        ));
        assert_eq!(balances, before);
    }

    #[derive(Debug, Clone)]
    enum Step {
        Inflow {
            wallet: usize,
            gross: i64,
            fee_per_mille: i64,
        },
        Hold {
            wallet: usize,
            amount: i64,
        },
        Release {
            wallet: usize,
            amount: i64,
        },
        Settle {
            wallet: usize,
            amount: i64,
            fee: i64,
        },
        Unmatched {
            amount: i64,
        },
        ReturnUnmatched {
            amount: i64,
        },
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (0..3usize, 1..1_000_000i64, 0..50i64).prop_map(|(wallet, gross, fee_per_mille)| {
                Step::Inflow {
                    wallet,
                    gross,
                    fee_per_mille,
                }
            }),
            (0..3usize, 1..500_000i64).prop_map(|(wallet, amount)| Step::Hold { wallet, amount }),
            (0..3usize, 1..500_000i64)
                .prop_map(|(wallet, amount)| Step::Release { wallet, amount }),
            (0..3usize, 1..500_000i64, 0..5_000i64).prop_map(|(wallet, amount, fee)| {
                Step::Settle {
                    wallet,
                    amount,
                    fee,
                }
            }),
            (1..100_000i64).prop_map(|amount| Step::Unmatched { amount }),
            (1..100_000i64).prop_map(|amount| Step::ReturnUnmatched { amount }),
        ]
    }

    proptest! {
        /// Random sequences of every movement: each step either applies whole or is refused
        /// whole, and after every step the ledger sums to zero and no constrained account is
        /// negative.
        #[test]
        fn every_sequence_keeps_the_invariants(steps in proptest::collection::vec(step(), 1..80)) {
            let wallets: Vec<WalletRef> = (0..3).map(|i| wallet(100 + i)).collect();
            let currency = Currency::Ngn;
            let mut balances = Balances::default();
            for step in steps {
                let entry = match step {
                    Step::Inflow { wallet, gross, fee_per_mille } => {
                        inflow(&wallets[wallet], currency, MinorUnits(gross), MinorUnits(gross * fee_per_mille / 1000))
                    }
                    Step::Hold { wallet, amount } => hold(&wallets[wallet], currency, MinorUnits(amount)),
                    Step::Release { wallet, amount } => release(&wallets[wallet], currency, MinorUnits(amount)),
                    Step::Settle { wallet, amount, fee } => {
                        settle_hold(&wallets[wallet], currency, MinorUnits(amount), MinorUnits(fee))
                    }
                    Step::Unmatched { amount } => receive_unmatched(currency, MinorUnits(amount)),
                    Step::ReturnUnmatched { amount } => return_unmatched(currency, MinorUnits(amount)),
                }
                .expect("movements with positive amounts are well formed");
                let before = balances.clone();
                if balances.apply(&entry).is_err() {
                    prop_assert_eq!(&balances, &before);
                }
                prop_assert_eq!(balances.total(), 0);
                for (account, balance) in balances.accounts() {
                    prop_assert!(balance.get() >= 0 || account.kind().may_go_negative(), "{} is {}", account, balance.get());
                }
            }
        }
    }
}
