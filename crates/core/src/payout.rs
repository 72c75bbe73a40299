//! The OTP-confirmed payout (Duplo "Make Payments v2") as a pure state machine.
//!
//! ```text
//! awaiting_otp_verification --correct OTP, funds held--> pending --bank pays--> successful
//!            |                                              \--bank declines--> failed
//!            \--deadline passed, or too many wrong OTPs--> abandoned
//! ```
//!
//! `decide` looks at a payout, a command and the time, and says what the payout becomes, what
//! must happen as a consequence (ledger movements, a new OTP, the bank transfer, events), and
//! whether the caller is refused. It does no IO; the service applies the decision in one
//! database transaction.

use crate::money::MinorUnits;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PayoutStatus {
    AwaitingOtpVerification,
    Pending,
    Successful,
    Failed,
    Abandoned,
}

impl PayoutStatus {
    pub const ALL: [PayoutStatus; 5] = [
        PayoutStatus::AwaitingOtpVerification,
        PayoutStatus::Pending,
        PayoutStatus::Successful,
        PayoutStatus::Failed,
        PayoutStatus::Abandoned,
    ];

    /// As Duplo spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            PayoutStatus::AwaitingOtpVerification => "awaiting_otp_verification",
            PayoutStatus::Pending => "pending",
            PayoutStatus::Successful => "successful",
            PayoutStatus::Failed => "failed",
            PayoutStatus::Abandoned => "abandoned",
        }
    }

    pub fn parse(text: &str) -> Option<PayoutStatus> {
        PayoutStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// How many hold, settlement and release entries a payout in this state has in the
    /// ledger: what `ducat ledger check` holds every payout to.
    pub fn expected_entries(self) -> ExpectedEntries {
        let (holds, settlements, releases) = match self {
            PayoutStatus::AwaitingOtpVerification | PayoutStatus::Abandoned => (0, 0, 0),
            PayoutStatus::Pending => (1, 0, 0),
            PayoutStatus::Successful => (1, 1, 0),
            PayoutStatus::Failed => (1, 0, 1),
        };
        ExpectedEntries {
            holds,
            settlements,
            releases,
        }
    }

    /// No command moves a final payout again.
    pub fn is_final(self) -> bool {
        match self {
            PayoutStatus::Successful | PayoutStatus::Failed | PayoutStatus::Abandoned => true,
            PayoutStatus::AwaitingOtpVerification | PayoutStatus::Pending => false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpectedEntries {
    pub holds: i64,
    pub settlements: i64,
    pub releases: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayoutPolicy {
    pub max_resends: u32,
    pub max_wrong_otps: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payout {
    pub status: PayoutStatus,
    pub amount: MinorUnits,
    pub fee: MinorUnits,
    pub wrong_otps: u32,
    pub resends: u32,
    /// Initiation plus the abandonment window; resends never move it.
    pub deadline_ms: i64,
}

impl Payout {
    /// What leaves the wallet: the amount and the fee.
    pub fn total(&self) -> MinorUnits {
        self.amount
            .checked_add(self.fee)
            .unwrap_or(MinorUnits(i64::MAX))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayoutCommand {
    /// The business submits an OTP. The shell compares it (keyed hash, constant time) and
    /// reads the wallet's available balance in the same transaction.
    SubmitOtp {
        otp_matches: bool,
        available: MinorUnits,
    },
    ResendOtp,
    /// The background sweeper looks at the payout.
    Sweep,
    /// The bank says the transfer was paid.
    BankPaid,
    /// The bank says the transfer was declined and nothing left the bank.
    BankDeclined,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayoutEvent {
    Pending,
    Successful,
    Failed,
    Abandoned,
}

impl PayoutEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            PayoutEvent::Pending => "PAYOUT_PENDING",
            PayoutEvent::Successful => "PAYOUT_SUCCESSFUL",
            PayoutEvent::Failed => "PAYOUT_FAILED",
            PayoutEvent::Abandoned => "PAYOUT_ABANDONED",
        }
    }
}

/// What must happen, in the same transaction as the new state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Reserve amount + fee: available -> held.
    Hold(MinorUnits),
    /// The held money left: the amount to the bank, the fee to ducat.
    SettleHold {
        amount: MinorUnits,
        fee: MinorUnits,
    },
    /// Give the hold back in full.
    ReleaseHold(MinorUnits),
    /// Replace the OTP with a new one and text it to the business's phone.
    IssueOtp,
    /// The OTP was used; it must not work again.
    ConsumeOtp,
    /// Queue the transfer for the bank.
    SendToBank,
    Emit(PayoutEvent),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The hour passed; the payout was abandoned (now, or before).
    Expired,
    WrongOtp {
        attempts_left: u32,
    },
    /// That wrong OTP was the last one allowed; the payout was abandoned.
    TooManyWrongOtps,
    ResendLimitReached {
        max_resends: u32,
    },
    InsufficientFunds {
        needed: MinorUnits,
        available: MinorUnits,
    },
    /// The payout is not waiting for an OTP (it is this instead).
    NotAwaitingOtp(PayoutStatus),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub next: Payout,
    pub effects: Vec<Effect>,
    /// Set when the caller's request is refused. The state change (if any) is still applied:
    /// a wrong OTP is counted, an expired payout is abandoned.
    pub refusal: Option<Refusal>,
}

impl Decision {
    fn unchanged(payout: &Payout) -> Decision {
        Decision {
            next: payout.clone(),
            effects: Vec::new(),
            refusal: None,
        }
    }

    fn refused(payout: &Payout, refusal: Refusal) -> Decision {
        Decision {
            refusal: Some(refusal),
            ..Decision::unchanged(payout)
        }
    }

    fn abandon(payout: &Payout, refusal: Option<Refusal>) -> Decision {
        Decision {
            next: Payout {
                status: PayoutStatus::Abandoned,
                ..payout.clone()
            },
            effects: vec![Effect::ConsumeOtp, Effect::Emit(PayoutEvent::Abandoned)],
            refusal,
        }
    }

    pub fn changes_state(&self, before: &Payout) -> bool {
        self.next != *before || !self.effects.is_empty()
    }
}

pub fn decide(
    payout: &Payout,
    command: PayoutCommand,
    now_ms: i64,
    policy: &PayoutPolicy,
) -> Decision {
    let expired = now_ms >= payout.deadline_ms;
    match (payout.status, command) {
        (
            PayoutStatus::AwaitingOtpVerification,
            PayoutCommand::SubmitOtp { .. } | PayoutCommand::ResendOtp,
        ) if expired => Decision::abandon(payout, Some(Refusal::Expired)),
        (
            PayoutStatus::AwaitingOtpVerification,
            PayoutCommand::SubmitOtp {
                otp_matches: false, ..
            },
        ) => {
            let wrong_otps = payout.wrong_otps.saturating_add(1);
            if wrong_otps >= policy.max_wrong_otps {
                let mut decision = Decision::abandon(payout, Some(Refusal::TooManyWrongOtps));
                decision.next.wrong_otps = wrong_otps;
                decision
            } else {
                Decision {
                    next: Payout {
                        wrong_otps,
                        ..payout.clone()
                    },
                    effects: Vec::new(),
                    refusal: Some(Refusal::WrongOtp {
                        attempts_left: policy.max_wrong_otps - wrong_otps,
                    }),
                }
            }
        }
        (
            PayoutStatus::AwaitingOtpVerification,
            PayoutCommand::SubmitOtp {
                otp_matches: true,
                available,
            },
        ) => {
            let needed = payout.total();
            if needed > available {
                // The code stays valid: the business may fund the wallet and try again
                // before the deadline.
                return Decision::refused(payout, Refusal::InsufficientFunds { needed, available });
            }
            Decision {
                next: Payout {
                    status: PayoutStatus::Pending,
                    ..payout.clone()
                },
                effects: vec![
                    Effect::ConsumeOtp,
                    Effect::Hold(needed),
                    Effect::SendToBank,
                    Effect::Emit(PayoutEvent::Pending),
                ],
                refusal: None,
            }
        }
        (PayoutStatus::AwaitingOtpVerification, PayoutCommand::ResendOtp) => {
            if payout.resends >= policy.max_resends {
                return Decision::refused(
                    payout,
                    Refusal::ResendLimitReached {
                        max_resends: policy.max_resends,
                    },
                );
            }
            Decision {
                next: Payout {
                    resends: payout.resends + 1,
                    ..payout.clone()
                },
                effects: vec![Effect::IssueOtp],
                refusal: None,
            }
        }
        (PayoutStatus::AwaitingOtpVerification, PayoutCommand::Sweep) => {
            if expired {
                Decision::abandon(payout, None)
            } else {
                Decision::unchanged(payout)
            }
        }
        (PayoutStatus::Pending, PayoutCommand::BankPaid) => Decision {
            next: Payout {
                status: PayoutStatus::Successful,
                ..payout.clone()
            },
            effects: vec![
                Effect::SettleHold {
                    amount: payout.amount,
                    fee: payout.fee,
                },
                Effect::Emit(PayoutEvent::Successful),
            ],
            refusal: None,
        },
        (PayoutStatus::Pending, PayoutCommand::BankDeclined) => Decision {
            next: Payout {
                status: PayoutStatus::Failed,
                ..payout.clone()
            },
            effects: vec![
                Effect::ReleaseHold(payout.total()),
                Effect::Emit(PayoutEvent::Failed),
            ],
            refusal: None,
        },
        (
            status @ (PayoutStatus::Pending
            | PayoutStatus::Successful
            | PayoutStatus::Failed
            | PayoutStatus::Abandoned),
            PayoutCommand::SubmitOtp { .. } | PayoutCommand::ResendOtp,
        ) => Decision::refused(payout, Refusal::NotAwaitingOtp(status)),
        // The sweeper only abandons payouts waiting for an OTP; bank answers only move
        // pending payouts (a repeated answer after the outcome changes nothing).
        (
            PayoutStatus::Pending
            | PayoutStatus::Successful
            | PayoutStatus::Failed
            | PayoutStatus::Abandoned,
            PayoutCommand::Sweep,
        )
        | (
            PayoutStatus::AwaitingOtpVerification
            | PayoutStatus::Successful
            | PayoutStatus::Failed
            | PayoutStatus::Abandoned,
            PayoutCommand::BankPaid | PayoutCommand::BankDeclined,
        ) => Decision::unchanged(payout),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const POLICY: PayoutPolicy = PayoutPolicy {
        max_resends: 3,
        max_wrong_otps: 5,
    };
    const HOUR_MS: i64 = 3_600_000;

    fn awaiting() -> Payout {
        Payout {
            status: PayoutStatus::AwaitingOtpVerification,
            amount: MinorUnits(500_000),
            fee: MinorUnits(1_500),
            wrong_otps: 0,
            resends: 0,
            deadline_ms: HOUR_MS,
        }
    }

    fn rich() -> PayoutCommand {
        PayoutCommand::SubmitOtp {
            otp_matches: true,
            available: MinorUnits(10_000_000),
        }
    }

    #[test]
    fn the_correct_otp_holds_and_sends() {
        let decision = decide(&awaiting(), rich(), 0, &POLICY);
        assert_eq!(decision.next.status, PayoutStatus::Pending);
        assert_eq!(
            decision.effects,
            vec![
                Effect::ConsumeOtp,
                Effect::Hold(MinorUnits(501_500)),
                Effect::SendToBank,
                Effect::Emit(PayoutEvent::Pending)
            ]
        );
        assert_eq!(decision.refusal, None);
    }

    #[test]
    fn a_late_otp_abandons_even_when_correct() {
        let decision = decide(&awaiting(), rich(), HOUR_MS, &POLICY);
        assert_eq!(decision.next.status, PayoutStatus::Abandoned);
        assert_eq!(decision.refusal, Some(Refusal::Expired));
        assert!(decision
            .effects
            .contains(&Effect::Emit(PayoutEvent::Abandoned)));
        assert!(!decision
            .effects
            .iter()
            .any(|e| matches!(e, Effect::Hold(_))));
    }

    #[test]
    fn wrong_otps_are_counted_until_the_payout_is_abandoned() {
        let mut payout = awaiting();
        let wrong = PayoutCommand::SubmitOtp {
            otp_matches: false,
            available: MinorUnits(10_000_000),
        };
        for attempt in 1..5 {
            let decision = decide(&payout, wrong, 0, &POLICY);
            assert_eq!(
                decision.refusal,
                Some(Refusal::WrongOtp {
                    attempts_left: 5 - attempt
                })
            );
            payout = decision.next;
        }
        let last = decide(&payout, wrong, 0, &POLICY);
        assert_eq!(last.refusal, Some(Refusal::TooManyWrongOtps));
        assert_eq!(last.next.status, PayoutStatus::Abandoned);
        assert_eq!(last.next.wrong_otps, 5);
    }

    #[test]
    fn resends_are_limited_and_keep_the_deadline_and_the_failure_count() {
        let mut payout = Payout {
            wrong_otps: 2,
            ..awaiting()
        };
        for _ in 0..3 {
            let decision = decide(&payout, PayoutCommand::ResendOtp, 10, &POLICY);
            assert_eq!(decision.effects, vec![Effect::IssueOtp]);
            assert_eq!(decision.next.deadline_ms, HOUR_MS);
            assert_eq!(decision.next.wrong_otps, 2);
            payout = decision.next;
        }
        let fourth = decide(&payout, PayoutCommand::ResendOtp, 10, &POLICY);
        assert_eq!(
            fourth.refusal,
            Some(Refusal::ResendLimitReached { max_resends: 3 })
        );
        assert!(!fourth.changes_state(&payout));
    }

    #[test]
    fn insufficient_funds_at_the_hold_refuses_and_keeps_waiting() {
        let poor = PayoutCommand::SubmitOtp {
            otp_matches: true,
            available: MinorUnits(501_499),
        };
        let decision = decide(&awaiting(), poor, 0, &POLICY);
        assert_eq!(
            decision.refusal,
            Some(Refusal::InsufficientFunds {
                needed: MinorUnits(501_500),
                available: MinorUnits(501_499)
            })
        );
        assert!(!decision.changes_state(&awaiting()));
    }

    #[test]
    fn the_bank_settles_or_releases_a_pending_payout() {
        let pending = decide(&awaiting(), rich(), 0, &POLICY).next;
        let paid = decide(&pending, PayoutCommand::BankPaid, 0, &POLICY);
        assert_eq!(paid.next.status, PayoutStatus::Successful);
        assert_eq!(
            paid.effects[0],
            Effect::SettleHold {
                amount: MinorUnits(500_000),
                fee: MinorUnits(1_500)
            }
        );
        let declined = decide(&pending, PayoutCommand::BankDeclined, 0, &POLICY);
        assert_eq!(declined.next.status, PayoutStatus::Failed);
        assert_eq!(
            declined.effects[0],
            Effect::ReleaseHold(MinorUnits(501_500))
        );
    }

    fn command() -> impl Strategy<Value = PayoutCommand> {
        prop_oneof![
            (any::<bool>(), 0i64..1_000_000).prop_map(|(otp_matches, available)| {
                PayoutCommand::SubmitOtp {
                    otp_matches,
                    available: MinorUnits(available),
                }
            }),
            Just(PayoutCommand::ResendOtp),
            Just(PayoutCommand::Sweep),
            Just(PayoutCommand::BankPaid),
            Just(PayoutCommand::BankDeclined),
        ]
    }

    proptest! {
        /// Whatever arrives in whatever order: final states never move, money is held once
        /// and then settled or released exactly once, and abandoned payouts never touched money.
        #[test]
        fn any_sequence_moves_money_consistently(
            steps in proptest::collection::vec((command(), 0i64..2 * HOUR_MS), 1..40)
        ) {
            let mut payout = Payout { amount: MinorUnits(100_000), fee: MinorUnits(1_100), ..awaiting() };
            let (mut holds, mut settles, mut releases, mut resends_issued) = (0, 0, 0, 0u32);
            let mut now = 0;
            for (command, advance) in steps {
                now += advance / 10;
                let before = payout.clone();
                let decision = decide(&payout, command, now, &POLICY);
                if before.status.is_final() {
                    prop_assert_eq!(&decision.next, &before);
                    prop_assert!(decision.effects.is_empty());
                }
                for effect in &decision.effects {
                    match effect {
                        Effect::Hold(total) => { holds += 1; prop_assert_eq!(*total, before.total()); }
                        Effect::SettleHold { .. } => settles += 1,
                        Effect::ReleaseHold(total) => { releases += 1; prop_assert_eq!(*total, before.total()); }
                        Effect::IssueOtp => resends_issued += 1,
                        Effect::ConsumeOtp | Effect::SendToBank | Effect::Emit(_) => {}
                    }
                }
                prop_assert_eq!(decision.next.deadline_ms, before.deadline_ms);
                payout = decision.next;
            }
            prop_assert!(holds <= 1);
            prop_assert!(settles + releases <= holds);
            prop_assert!(resends_issued <= POLICY.max_resends);
            prop_assert!(payout.wrong_otps <= POLICY.max_wrong_otps);
            match payout.status {
                PayoutStatus::Successful => prop_assert_eq!((holds, settles, releases), (1, 1, 0)),
                PayoutStatus::Failed => prop_assert_eq!((holds, settles, releases), (1, 0, 1)),
                PayoutStatus::Pending => prop_assert_eq!((holds, settles, releases), (1, 0, 0)),
                PayoutStatus::Abandoned | PayoutStatus::AwaitingOtpVerification => prop_assert_eq!(holds, 0),
            }
        }
    }
}
