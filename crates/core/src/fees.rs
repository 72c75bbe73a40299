//! Fees: a flat part plus a percentage, optionally capped.
//!
//! The one rounding rule: the percentage part is computed exactly in minor units and rounded
//! half up to the nearest minor unit (kobo, santim); the flat part is added; the cap applies
//! last. So 0.10 % of ₦1,234.55 is 123.455 kobo, which is 123 kobo, and of ₦1,234.50 is
//! 123.45 kobo, which is 123 kobo, while 0.10 % of ₦5,005.00 is 500.5 kobo, which is 501.

use crate::money::MinorUnits;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeeSchedule {
    pub flat: MinorUnits,
    /// Hundredths of a percent: 10 is 0.10 %.
    pub basis_points: u32,
    pub cap: Option<MinorUnits>,
}

/// ducat's default payout fee: ₦10 + 0.10 %, at most ₦50.
pub const DEFAULT_PAYOUT_FEES: FeeSchedule = FeeSchedule {
    flat: MinorUnits(1_000),
    basis_points: 10,
    cap: Some(MinorUnits(5_000)),
};

/// ducat's default collection fee (checkouts, virtual accounts): 0.50 %, at most ₦1,000.
pub const DEFAULT_COLLECTION_FEES: FeeSchedule = FeeSchedule {
    flat: MinorUnits(0),
    basis_points: 50,
    cap: Some(MinorUnits(100_000)),
};

impl FeeSchedule {
    pub fn fee_for(&self, amount: MinorUnits) -> MinorUnits {
        let amount = i128::from(amount.get().max(0));
        let numerator = amount * i128::from(self.basis_points);
        // Half up: add half the divisor before the integer division.
        let percentage = (numerator + 5_000) / 10_000;
        let uncapped = i128::from(self.flat.get()) + percentage;
        let fee = match self.cap {
            Some(cap) => uncapped.min(i128::from(cap.get())),
            None => uncapped,
        };
        MinorUnits(i64::try_from(fee).unwrap_or(i64::MAX))
    }
}

/// The taxes on a Beqelal withdrawal fee: VAT at 15 % and the levy at 5 % of the fee, each
/// rounded half up to the santim (the same rule as every percentage in ducat).
pub fn withdrawal_charges(fee: MinorUnits) -> (MinorUnits, MinorUnits) {
    let share = |basis_points: i128| {
        let value = (i128::from(fee.get().max(0)) * basis_points + 5_000) / 10_000;
        MinorUnits(i64::try_from(value).unwrap_or(i64::MAX))
    };
    (share(1_500), share(500))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_schedule() {
        let fee = |naira: i64| DEFAULT_PAYOUT_FEES.fee_for(MinorUnits(naira * 100)).get();
        assert_eq!(fee(200), 1_020);
        assert_eq!(fee(5_000), 1_500);
        assert_eq!(fee(40_000), 5_000);
        assert_eq!(fee(1_000_000), 5_000);
    }

    #[test]
    fn withdrawal_taxes_are_shares_of_the_fee() {
        assert_eq!(
            withdrawal_charges(MinorUnits(1_000)),
            (MinorUnits(150), MinorUnits(50))
        );
        // 15 % of 10.03 birr is 150.45 santim, which is 150; 5 % is 50.15, which is 50.
        assert_eq!(
            withdrawal_charges(MinorUnits(1_003)),
            (MinorUnits(150), MinorUnits(50))
        );
        // 15 % of 10.10 is 151.5 santim, which is 152; 5 % is 50.5, which is 51.
        assert_eq!(
            withdrawal_charges(MinorUnits(1_010)),
            (MinorUnits(152), MinorUnits(51))
        );
        assert_eq!(
            withdrawal_charges(MinorUnits(0)),
            (MinorUnits(0), MinorUnits(0))
        );
    }

    #[test]
    fn the_percentage_rounds_half_up() {
        let schedule = FeeSchedule {
            flat: MinorUnits(0),
            basis_points: 10,
            cap: None,
        };
        assert_eq!(schedule.fee_for(MinorUnits(123_455)).get(), 123);
        assert_eq!(schedule.fee_for(MinorUnits(500_500)).get(), 501);
        assert_eq!(schedule.fee_for(MinorUnits(500_499)).get(), 500);
        assert_eq!(schedule.fee_for(MinorUnits(4)).get(), 0);
        assert_eq!(schedule.fee_for(MinorUnits(5_000)).get(), 5);
    }

    proptest::proptest! {
        #[test]
        fn fees_never_exceed_the_cap_and_grow_with_the_amount(a in 0i64..10_000_000_000, b in 0i64..10_000_000_000) {
            let (small, large) = (a.min(b), a.max(b));
            let fee = |x| DEFAULT_PAYOUT_FEES.fee_for(MinorUnits(x)).get();
            proptest::prop_assert!(fee(large) <= 5_000);
            proptest::prop_assert!(fee(small) <= fee(large));
        }
    }
}
