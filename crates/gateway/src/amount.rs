//! Payable amounts: which amounts an order may take so that every open
//! order of a merchant's channel has its own.

use jiufu_protocol::Fen;
use jiufu_store::MerchantSettings;

/// The payable amounts to try for an order of `order_fen`, most preferred
/// first: the amount itself, then one fen at a time in the merchant's
/// direction, `step_count` steps at most, never below 0.01.
pub fn candidates(order_fen: Fen, settings: &MerchantSettings) -> Vec<Fen> {
    let step = if settings.step_down { -1 } else { 1 };
    (0..=settings.step_count.max(0))
        .map(|i| Fen(order_fen.0 + step * i))
        .take_while(|f| f.0 >= 1 && f.0 <= jiufu_protocol::amount::MAX_FEN)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_down_by_default() {
        let c = candidates(Fen(1000), &MerchantSettings::default());
        assert_eq!(c.len(), 100);
        assert_eq!((c[0], c[1], c[99]), (Fen(1000), Fen(999), Fen(901)));
    }

    #[test]
    fn never_below_one_fen_and_up_when_asked() {
        assert_eq!(candidates(Fen(3), &MerchantSettings::default()), vec![Fen(3), Fen(2), Fen(1)]);
        let up = MerchantSettings { step_down: false, step_count: 2, ..Default::default() };
        assert_eq!(candidates(Fen(100), &up), vec![Fen(100), Fen(101), Fen(102)]);
        let none = MerchantSettings { step_count: 0, ..Default::default() };
        assert_eq!(candidates(Fen(100), &none), vec![Fen(100)]);
    }
}
