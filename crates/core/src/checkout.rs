//! Pay-with-transfer checkout: what the customer must pay, and what happens to money that
//! arrives at a checkout's account. Pure: the service applies the answers.
//!
//! ```text
//! pending --exact amount arrives--> successful
//!    \------deadline passes-------> expired
//! ```
//! Any other amount, and anything after the checkout is paid or expired, goes back to the
//! sender and leaves the checkout as it was.

use crate::fees::FeeSchedule;
use crate::money::MinorUnits;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CheckoutStatus {
    Pending,
    Successful,
    Expired,
}

impl CheckoutStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckoutStatus::Pending => "pending",
            CheckoutStatus::Successful => "successful",
            CheckoutStatus::Expired => "expired",
        }
    }

    pub fn parse(text: &str) -> Option<CheckoutStatus> {
        [
            CheckoutStatus::Pending,
            CheckoutStatus::Successful,
            CheckoutStatus::Expired,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// Who pays the collection fee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeeBearer {
    /// The customer pays the total plus the fee; the business receives the total.
    Customer,
    /// The customer pays the total; the business receives the total less the fee.
    Business,
}

impl FeeBearer {
    pub fn as_str(self) -> &'static str {
        match self {
            FeeBearer::Customer => "customer",
            FeeBearer::Business => "business",
        }
    }

    pub fn parse(text: &str) -> Option<FeeBearer> {
        match text {
            "customer" => Some(FeeBearer::Customer),
            "business" => Some(FeeBearer::Business),
            _ => None,
        }
    }
}

/// A discount or a tax: a percentage (in hundredths of a percent) or a flat amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adjustment {
    Percentage { basis_points: u32 },
    Flat(MinorUnits),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineItem {
    pub unit_price: MinorUnits,
    pub quantity: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub line_items: Vec<LineItem>,
    pub shipping_fee: MinorUnits,
    pub discount: Option<Adjustment>,
    pub tax: Option<Adjustment>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Price {
    pub subtotal: MinorUnits,
    pub discount: MinorUnits,
    pub tax: MinorUnits,
    pub shipping_fee: MinorUnits,
    /// What the goods cost: subtotal - discount + tax + shipping.
    pub total: MinorUnits,
    pub fee: MinorUnits,
    /// What the customer must transfer, to the kobo.
    pub amount_to_pay: MinorUnits,
    /// What the business's wallet receives.
    pub business_receives: MinorUnits,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    #[error("the order is empty")]
    Empty,
    #[error("a discount cannot exceed the subtotal")]
    DiscountExceedsSubtotal,
    #[error("the total must be greater than zero")]
    NotPositive,
    #[error("the amounts are too large")]
    TooLarge,
}

/// Percentage of an amount in basis points, rounded half up to the minor unit: the same rule
/// as fees, so every percentage in ducat rounds one way.
fn percentage(amount: MinorUnits, basis_points: u32) -> Option<MinorUnits> {
    let value = (i128::from(amount.get()) * i128::from(basis_points) + 5_000) / 10_000;
    i64::try_from(value).ok().map(MinorUnits)
}

fn adjustment(base: MinorUnits, adjustment: Option<Adjustment>) -> Option<MinorUnits> {
    match adjustment {
        None => Some(MinorUnits::ZERO),
        Some(Adjustment::Percentage { basis_points }) => percentage(base, basis_points),
        Some(Adjustment::Flat(amount)) => Some(amount),
    }
}

/// Prices an order: discount on the subtotal, tax on the discounted subtotal, then shipping,
/// then the collection fee by whoever bears it.
pub fn price(order: &Order, fees: &FeeSchedule, bearer: FeeBearer) -> Result<Price, PriceError> {
    if order.line_items.is_empty() {
        return Err(PriceError::Empty);
    }
    let mut subtotal = MinorUnits::ZERO;
    for item in &order.line_items {
        let line = item
            .unit_price
            .get()
            .checked_mul(i64::from(item.quantity))
            .ok_or(PriceError::TooLarge)?;
        subtotal = subtotal
            .checked_add(MinorUnits(line))
            .ok_or(PriceError::TooLarge)?;
    }
    let discount = adjustment(subtotal, order.discount).ok_or(PriceError::TooLarge)?;
    if discount > subtotal {
        return Err(PriceError::DiscountExceedsSubtotal);
    }
    let discounted = subtotal.checked_sub(discount).ok_or(PriceError::TooLarge)?;
    let tax = adjustment(discounted, order.tax).ok_or(PriceError::TooLarge)?;
    let total = discounted
        .checked_add(tax)
        .and_then(|t| t.checked_add(order.shipping_fee))
        .ok_or(PriceError::TooLarge)?;
    if !total.is_positive() {
        return Err(PriceError::NotPositive);
    }
    let mut price = price_total(total, fees, bearer)?;
    price.subtotal = subtotal;
    price.discount = discount;
    price.tax = tax;
    price.shipping_fee = order.shipping_fee;
    Ok(price)
}

/// Prices a bare amount (a checkout without line items, a virtual account's inflow).
pub fn price_total(
    total: MinorUnits,
    fees: &FeeSchedule,
    bearer: FeeBearer,
) -> Result<Price, PriceError> {
    if !total.is_positive() {
        return Err(PriceError::NotPositive);
    }
    let fee = fees.fee_for(total).min(total);
    let (amount_to_pay, business_receives) = match bearer {
        FeeBearer::Customer => (total.checked_add(fee).ok_or(PriceError::TooLarge)?, total),
        FeeBearer::Business => (total, total.checked_sub(fee).ok_or(PriceError::TooLarge)?),
    };
    Ok(Price {
        subtotal: total,
        discount: MinorUnits::ZERO,
        tax: MinorUnits::ZERO,
        shipping_fee: MinorUnits::ZERO,
        total,
        fee,
        amount_to_pay,
        business_receives,
    })
}

/// Why money that arrived at a checkout's account goes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnReason {
    WrongAmount {
        expected: MinorUnits,
        received: MinorUnits,
    },
    Expired,
    AlreadyPaid,
}

impl ReturnReason {
    pub fn describe(self, currency: crate::money::Currency) -> String {
        match self {
            ReturnReason::WrongAmount { expected, received } => format!(
                "wrong amount: expected exactly {currency} {}, received {currency} {}",
                expected.to_major_string(currency),
                received.to_major_string(currency)
            ),
            ReturnReason::Expired => "the checkout had expired".to_owned(),
            ReturnReason::AlreadyPaid => "the checkout was already paid".to_owned(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InflowDecision {
    /// Exactly the amount, in time: the checkout is paid.
    Accept,
    Return(ReturnReason),
}

/// What to do with `received` arriving at a checkout that expects `amount_to_pay`.
pub fn decide_inflow(
    status: CheckoutStatus,
    amount_to_pay: MinorUnits,
    expires_at_ms: i64,
    received: MinorUnits,
    now_ms: i64,
) -> InflowDecision {
    match status {
        CheckoutStatus::Successful => InflowDecision::Return(ReturnReason::AlreadyPaid),
        CheckoutStatus::Expired => InflowDecision::Return(ReturnReason::Expired),
        CheckoutStatus::Pending if now_ms >= expires_at_ms => {
            InflowDecision::Return(ReturnReason::Expired)
        }
        CheckoutStatus::Pending if received != amount_to_pay => {
            InflowDecision::Return(ReturnReason::WrongAmount {
                expected: amount_to_pay,
                received,
            })
        }
        CheckoutStatus::Pending => InflowDecision::Accept,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NO_FEES: FeeSchedule = FeeSchedule {
        flat: MinorUnits(0),
        basis_points: 0,
        cap: None,
    };
    const ONE_PERCENT: FeeSchedule = FeeSchedule {
        flat: MinorUnits(0),
        basis_points: 100,
        cap: Some(MinorUnits(200_000)),
    };

    fn order() -> Order {
        Order {
            line_items: vec![
                LineItem {
                    unit_price: MinorUnits(250_000),
                    quantity: 2,
                },
                LineItem {
                    unit_price: MinorUnits(99_99),
                    quantity: 3,
                },
            ],
            shipping_fee: MinorUnits(150_000),
            discount: Some(Adjustment::Percentage {
                basis_points: 1_000,
            }),
            tax: Some(Adjustment::Percentage { basis_points: 750 }),
        }
    }

    #[test]
    fn an_order_is_priced_exactly() {
        // Subtotal 5,000 + 299.97 = 5,299.97; 10 % off = 530.00 (529.997 rounded half up);
        // 4,769.97 taxed 7.5 % = 357.75 (357.74775); plus 1,500 shipping = 6,627.72.
        let price = price(&order(), &NO_FEES, FeeBearer::Business).unwrap();
        assert_eq!(price.subtotal, MinorUnits(529_997));
        assert_eq!(price.discount, MinorUnits(53_000));
        assert_eq!(price.tax, MinorUnits(35_775));
        assert_eq!(price.total, MinorUnits(662_772));
        assert_eq!(price.amount_to_pay, MinorUnits(662_772));
    }

    #[test]
    fn the_fee_bearer_decides_who_pays() {
        let customer = price_total(MinorUnits(100_000), &ONE_PERCENT, FeeBearer::Customer).unwrap();
        assert_eq!(
            (
                customer.amount_to_pay,
                customer.business_receives,
                customer.fee
            ),
            (MinorUnits(101_000), MinorUnits(100_000), MinorUnits(1_000))
        );
        let business = price_total(MinorUnits(100_000), &ONE_PERCENT, FeeBearer::Business).unwrap();
        assert_eq!(
            (business.amount_to_pay, business.business_receives),
            (MinorUnits(100_000), MinorUnits(99_000))
        );
    }

    #[test]
    fn impossible_orders_are_refused() {
        let mut big_discount = order();
        big_discount.discount = Some(Adjustment::Flat(MinorUnits(10_000_000)));
        assert_eq!(
            price(&big_discount, &NO_FEES, FeeBearer::Business),
            Err(PriceError::DiscountExceedsSubtotal)
        );
        let empty = Order {
            line_items: vec![],
            ..order()
        };
        assert_eq!(
            price(&empty, &NO_FEES, FeeBearer::Business),
            Err(PriceError::Empty)
        );
        let overflow = Order {
            line_items: vec![LineItem {
                unit_price: MinorUnits(i64::MAX / 2),
                quantity: 3,
            }],
            ..order()
        };
        assert_eq!(
            price(&overflow, &NO_FEES, FeeBearer::Business),
            Err(PriceError::TooLarge)
        );
    }

    #[test]
    fn only_the_exact_amount_in_time_is_accepted() {
        let pending = CheckoutStatus::Pending;
        assert_eq!(
            decide_inflow(pending, MinorUnits(100), 10, MinorUnits(100), 9),
            InflowDecision::Accept
        );
        assert_eq!(
            decide_inflow(pending, MinorUnits(100), 10, MinorUnits(99), 9),
            InflowDecision::Return(ReturnReason::WrongAmount {
                expected: MinorUnits(100),
                received: MinorUnits(99)
            })
        );
        assert_eq!(
            decide_inflow(pending, MinorUnits(100), 10, MinorUnits(100), 10),
            InflowDecision::Return(ReturnReason::Expired)
        );
        assert_eq!(
            decide_inflow(
                CheckoutStatus::Successful,
                MinorUnits(100),
                10,
                MinorUnits(100),
                1
            ),
            InflowDecision::Return(ReturnReason::AlreadyPaid)
        );
    }

    proptest! {
        #[test]
        fn what_the_customer_pays_is_what_the_business_and_ducat_receive(
            total in 1i64..10_000_000_000, customer in any::<bool>(), bps in 0u32..500
        ) {
            let fees = FeeSchedule { flat: MinorUnits(0), basis_points: bps, cap: None };
            let bearer = if customer { FeeBearer::Customer } else { FeeBearer::Business };
            let price = price_total(MinorUnits(total), &fees, bearer).unwrap();
            prop_assert_eq!(price.amount_to_pay.get(), price.business_receives.get() + price.fee.get());
            prop_assert!(price.business_receives.get() >= 0);
        }
    }
}
