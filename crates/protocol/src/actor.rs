//! Who changed an order: written into its history (and, for a
//! confirmation, as `confirmed_by`) as the words the gateway has always
//! used, and parsed back from them.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Who asked for a change of an order's state.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Actor {
    /// `merchant`: the shop, through its API (creation, V免签 `closeOrder`).
    Merchant,
    /// `customer`: the payer on the checkout page (a claim).
    Customer,
    /// `timer`: the gateway's own clock (expiry).
    Timer,
    /// `device:<id>`: a paired collector, by its device id.
    Device(String),
    /// `operator`: the payee by hand, with no finer origin (a payment the
    /// collector's operator recorded).
    Operator,
    /// `operator:cli`: the payee at the gateway's command line.
    OperatorCli,
}

/// Text that names no actor this program writes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown actor {0:?}")]
pub struct UnknownActor(pub String);

impl Actor {
    pub fn parse(text: &str) -> Result<Actor, UnknownActor> {
        Ok(match text {
            "merchant" => Actor::Merchant,
            "customer" => Actor::Customer,
            "timer" => Actor::Timer,
            "operator" => Actor::Operator,
            "operator:cli" => Actor::OperatorCli,
            _ => match text.strip_prefix("device:") {
                Some(id) if !id.is_empty() => Actor::Device(id.to_owned()),
                _ => return Err(UnknownActor(text.to_owned())),
            },
        })
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Merchant => f.write_str("merchant"),
            Actor::Customer => f.write_str("customer"),
            Actor::Timer => f.write_str("timer"),
            Actor::Device(id) => write!(f, "device:{id}"),
            Actor::Operator => f.write_str("operator"),
            Actor::OperatorCli => f.write_str("operator:cli"),
        }
    }
}

impl std::str::FromStr for Actor {
    type Err = UnknownActor;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Actor::parse(text)
    }
}

impl From<Actor> for String {
    fn from(actor: Actor) -> String {
        actor.to_string()
    }
}

impl TryFrom<String> for Actor {
    type Error = UnknownActor;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        Actor::parse(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_as_the_words_used_before_and_read_back() {
        let all = [
            (Actor::Merchant, "merchant"),
            (Actor::Customer, "customer"),
            (Actor::Timer, "timer"),
            (Actor::Device("d-1_x".into()), "device:d-1_x"),
            (Actor::Operator, "operator"),
            (Actor::OperatorCli, "operator:cli"),
        ];
        for (actor, text) in all {
            assert_eq!(actor.to_string(), text);
            assert_eq!(Actor::parse(text), Ok(actor.clone()));
            assert_eq!(serde_json::to_string(&actor).unwrap(), format!("\"{text}\""));
            assert_eq!(serde_json::from_str::<Actor>(&format!("\"{text}\"")).unwrap(), actor);
        }
    }

    #[test]
    fn refuses_what_was_never_written() {
        for text in ["", "device:", "device", "Customer", "operator:gui", " timer"] {
            assert_eq!(Actor::parse(text), Err(UnknownActor(text.into())), "{text:?}");
        }
        assert!(serde_json::from_str::<Actor>("\"robot\"").is_err());
    }
}
