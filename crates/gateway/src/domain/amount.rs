//! Payable amounts: which amounts an order may take so that every open
//! order of a merchant's channel has its own — and never one that sells
//! the order at a discount.

use jiufu_protocol::Fen;
use jiufu_store::MerchantSettings;

/// How many 0.01 steps an order of `order_fen` may move: the merchant's
/// maximum offset (basis points of the amount, rounded down, at least one
/// step), and never more than its step count.
pub fn max_steps(order_fen: Fen, settings: &MerchantSettings) -> i64 {
    let by_offset = (i128::from(order_fen.0) * i128::from(settings.max_offset_bp.max(0)) / 10_000).max(1);
    let by_offset = i64::try_from(by_offset).unwrap_or(i64::MAX);
    by_offset.min(settings.step_count.max(0))
}

/// The payable amounts to try for an order of `order_fen`, most preferred
/// first: the amount itself, then one fen at a time in the merchant's
/// direction, [`max_steps`] steps at most, never below 0.01.
pub fn candidates(order_fen: Fen, settings: &MerchantSettings) -> Vec<Fen> {
    let step = if settings.step_down { -1 } else { 1 };
    (0..=max_steps(order_fen, settings))
        .map(|i| Fen(order_fen.0 + step * i))
        .take_while(|f| f.0 >= 1 && f.0 <= jiufu_protocol::amount::MAX_FEN)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_down_by_default_within_two_percent() {
        let c = candidates(Fen(10_000), &MerchantSettings::default());
        assert_eq!(c.len(), 100, "2 % of 100.00 is 2.00, capped at 99 steps");
        assert_eq!((c[0], c[1], c[99]), (Fen(10_000), Fen(9_999), Fen(9_901)));
        let c = candidates(Fen(1000), &MerchantSettings::default());
        assert_eq!(c, (980..=1000).rev().map(Fen).collect::<Vec<_>>(), "2 % of 10.00 is 0.20: 20 steps");
    }

    #[test]
    fn no_discount_beyond_the_offset() {
        // The finding: 99 open orders at 1.00 made the 100th payable 0.01.
        let c = candidates(Fen(100), &MerchantSettings::default());
        assert_eq!(c, vec![Fen(100), Fen(99), Fen(98)], "2 % of 1.00 is 0.02: two steps, the third order waits (1008)");
    }

    #[test]
    fn never_below_one_fen_and_up_when_asked() {
        assert_eq!(candidates(Fen(3), &MerchantSettings::default()), vec![Fen(3), Fen(2)]);
        let up = MerchantSettings { step_down: false, step_count: 2, max_offset_bp: 10_000, ..Default::default() };
        assert_eq!(candidates(Fen(100), &up), vec![Fen(100), Fen(101), Fen(102)]);
        let none = MerchantSettings { step_count: 0, ..Default::default() };
        assert_eq!(candidates(Fen(100), &none), vec![Fen(100)]);
    }
}
