//! Beqelal's direct payment: money pulled from a customer's bank or mobile-wallet account,
//! authorized by the institution's OTP (or a USSD push the customer approves on the phone).
//!
//! ```text
//! AWAITING_AUTHORIZATION --right OTP, institution confirms--> PROCESSED
//!            |              \--institution declines--------> FAILED
//!            \--OTP expired, or too many wrong OTPs--------> FAILED
//! ```

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DirectPaymentStatus {
    AwaitingAuthorization,
    Processed,
    Failed,
}

impl DirectPaymentStatus {
    /// As Beqelal spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            DirectPaymentStatus::AwaitingAuthorization => "AWAITING_AUTHORIZATION",
            DirectPaymentStatus::Processed => "PROCESSED",
            DirectPaymentStatus::Failed => "FAILED",
        }
    }

    pub fn parse(text: &str) -> Option<DirectPaymentStatus> {
        [
            DirectPaymentStatus::AwaitingAuthorization,
            DirectPaymentStatus::Processed,
            DirectPaymentStatus::Failed,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }

    pub fn is_final(self) -> bool {
        match self {
            DirectPaymentStatus::Processed | DirectPaymentStatus::Failed => true,
            DirectPaymentStatus::AwaitingAuthorization => false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirectPayment {
    pub status: DirectPaymentStatus,
    pub wrong_otps: u32,
    /// When the institution's OTP stops being valid.
    pub otp_expires_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectPaymentCommand {
    /// The business submits the OTP; the shell compares it and asks the institution, which
    /// `institution_approves` reports (only consulted when the OTP matches).
    Authorize {
        otp_matches: bool,
        institution_approves: bool,
    },
    /// The customer answered the USSD push (or the push timed out as a refusal).
    PushAnswered { approved: bool },
    /// The sweeper looks at the payment.
    Sweep,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Debit the customer at the institution and credit the business's wallet, less the fee.
    Collect,
    /// Append the final-outcome event for the webhook.
    EmitOutcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Beqelal 450: the OTP is wrong; the payment still awaits a right one.
    InvalidOtp { attempts_left: u32 },
    /// The last allowed wrong OTP: the payment has failed.
    TooManyWrongOtps,
    /// The OTP's lifetime passed: the payment has failed.
    OtpExpired,
    /// The payment is already PROCESSED or FAILED.
    AlreadyFinal(DirectPaymentStatus),
    /// The payment is authorized by USSD push, not by OTP.
    NotOtpAuthorized,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub next: DirectPayment,
    pub effects: &'static [Effect],
    pub refusal: Option<Refusal>,
}

const NOTHING: &[Effect] = &[];
const COLLECT_AND_EMIT: &[Effect] = &[Effect::Collect, Effect::EmitOutcome];
const EMIT: &[Effect] = &[Effect::EmitOutcome];

fn becomes(
    payment: &DirectPayment,
    status: DirectPaymentStatus,
    effects: &'static [Effect],
    refusal: Option<Refusal>,
) -> Decision {
    Decision {
        next: DirectPayment { status, ..*payment },
        effects,
        refusal,
    }
}

pub fn decide(
    payment: &DirectPayment,
    command: DirectPaymentCommand,
    now_ms: i64,
    max_wrong_otps: u32,
) -> Decision {
    use DirectPaymentStatus::{AwaitingAuthorization, Failed, Processed};
    let expired = now_ms >= payment.otp_expires_ms;
    match (payment.status, command) {
        (
            status @ (Processed | Failed),
            DirectPaymentCommand::Authorize { .. } | DirectPaymentCommand::PushAnswered { .. },
        ) => Decision {
            next: *payment,
            effects: NOTHING,
            refusal: Some(Refusal::AlreadyFinal(status)),
        },
        (Processed | Failed, DirectPaymentCommand::Sweep) => Decision {
            next: *payment,
            effects: NOTHING,
            refusal: None,
        },
        (AwaitingAuthorization, DirectPaymentCommand::Authorize { .. }) if expired => {
            becomes(payment, Failed, EMIT, Some(Refusal::OtpExpired))
        }
        (
            AwaitingAuthorization,
            DirectPaymentCommand::Authorize {
                otp_matches: false, ..
            },
        ) => {
            let wrong_otps = payment.wrong_otps.saturating_add(1);
            let counted = DirectPayment {
                wrong_otps,
                ..*payment
            };
            if wrong_otps >= max_wrong_otps {
                becomes(&counted, Failed, EMIT, Some(Refusal::TooManyWrongOtps))
            } else {
                Decision {
                    next: counted,
                    effects: NOTHING,
                    refusal: Some(Refusal::InvalidOtp {
                        attempts_left: max_wrong_otps - wrong_otps,
                    }),
                }
            }
        }
        (
            AwaitingAuthorization,
            DirectPaymentCommand::Authorize {
                otp_matches: true,
                institution_approves: true,
            },
        )
        | (AwaitingAuthorization, DirectPaymentCommand::PushAnswered { approved: true }) => {
            becomes(payment, Processed, COLLECT_AND_EMIT, None)
        }
        (
            AwaitingAuthorization,
            DirectPaymentCommand::Authorize {
                otp_matches: true,
                institution_approves: false,
            },
        )
        | (AwaitingAuthorization, DirectPaymentCommand::PushAnswered { approved: false }) => {
            becomes(payment, Failed, EMIT, None)
        }
        (AwaitingAuthorization, DirectPaymentCommand::Sweep) if expired => {
            becomes(payment, Failed, EMIT, None)
        }
        (AwaitingAuthorization, DirectPaymentCommand::Sweep) => Decision {
            next: *payment,
            effects: NOTHING,
            refusal: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MAX: u32 = 5;

    fn awaiting() -> DirectPayment {
        DirectPayment {
            status: DirectPaymentStatus::AwaitingAuthorization,
            wrong_otps: 0,
            otp_expires_ms: 600_000,
        }
    }

    fn authorize(otp_matches: bool, institution_approves: bool) -> DirectPaymentCommand {
        DirectPaymentCommand::Authorize {
            otp_matches,
            institution_approves,
        }
    }

    #[test]
    fn the_right_otp_processes_and_a_decline_fails() {
        let processed = decide(&awaiting(), authorize(true, true), 0, MAX);
        assert_eq!(processed.next.status, DirectPaymentStatus::Processed);
        assert_eq!(processed.effects, COLLECT_AND_EMIT);
        let declined = decide(&awaiting(), authorize(true, false), 0, MAX);
        assert_eq!(declined.next.status, DirectPaymentStatus::Failed);
        assert_eq!(declined.effects, EMIT);
        assert_eq!(declined.refusal, None);
    }

    #[test]
    fn wrong_otps_count_until_the_payment_fails() {
        let mut payment = awaiting();
        for left in (1..MAX).rev() {
            let decision = decide(&payment, authorize(false, true), 0, MAX);
            assert_eq!(
                decision.refusal,
                Some(Refusal::InvalidOtp {
                    attempts_left: left
                })
            );
            payment = decision.next;
        }
        let last = decide(&payment, authorize(false, true), 0, MAX);
        assert_eq!(last.next.status, DirectPaymentStatus::Failed);
        assert_eq!(last.refusal, Some(Refusal::TooManyWrongOtps));
    }

    #[test]
    fn an_expired_otp_fails_the_payment_and_finished_payments_do_not_move() {
        let late = decide(&awaiting(), authorize(true, true), 600_000, MAX);
        assert_eq!(
            (late.next.status, late.refusal),
            (DirectPaymentStatus::Failed, Some(Refusal::OtpExpired))
        );
        let again = decide(&late.next, authorize(true, true), 0, MAX);
        assert_eq!(
            again.refusal,
            Some(Refusal::AlreadyFinal(DirectPaymentStatus::Failed))
        );
        assert_eq!(again.next, late.next);
        assert!(again.effects.is_empty());
    }

    fn command() -> impl Strategy<Value = DirectPaymentCommand> {
        prop_oneof![
            (any::<bool>(), any::<bool>()).prop_map(|(a, b)| authorize(a, b)),
            any::<bool>().prop_map(|approved| DirectPaymentCommand::PushAnswered { approved }),
            Just(DirectPaymentCommand::Sweep),
        ]
    }

    proptest! {
        /// Money is collected at most once, only on PROCESSED, and one outcome event is
        /// emitted exactly when the payment becomes final.
        #[test]
        fn money_is_collected_at_most_once(steps in proptest::collection::vec((command(), 0i64..200_000), 1..30)) {
            let mut payment = awaiting();
            let (mut collected, mut emitted, mut now) = (0, 0, 0);
            for (command, advance) in steps {
                now += advance;
                let decision = decide(&payment, command, now, MAX);
                collected += decision.effects.iter().filter(|e| **e == Effect::Collect).count();
                emitted += decision.effects.iter().filter(|e| **e == Effect::EmitOutcome).count();
                if payment.status.is_final() {
                    prop_assert_eq!(decision.next, payment);
                }
                payment = decision.next;
            }
            prop_assert_eq!(collected, usize::from(payment.status == DirectPaymentStatus::Processed));
            prop_assert_eq!(emitted, usize::from(payment.status.is_final()));
        }
    }
}
