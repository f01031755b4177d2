//! Checked moves of the books' counters. A counter pushed past its type's
//! range fails with `Overflow` (the amount is too large); one taken below
//! what it holds fails with `InvariantViolated` (the books said it held it).

use anchor_lang::prelude::*;

use crate::errors::StakingError;

/// An integer the books keep, with checked addition and subtraction.
pub trait Counter: Copy {
    fn add_checked(self, amount: Self) -> Option<Self>;
    fn sub_checked(self, amount: Self) -> Option<Self>;
}

macro_rules! counter {
    ($($t:ty),*) => {$(
        impl Counter for $t {
            fn add_checked(self, amount: Self) -> Option<Self> {
                self.checked_add(amount)
            }

            fn sub_checked(self, amount: Self) -> Option<Self> {
                self.checked_sub(amount)
            }
        }
    )*};
}

counter!(u32, u64, u128, i64);

/// `value + amount`, or `Overflow`.
pub fn plus<T: Counter>(value: T, amount: T) -> Result<T> {
    Ok(value.add_checked(amount).ok_or(StakingError::Overflow)?)
}

/// `value - amount`, or `InvariantViolated`.
pub fn minus<T: Counter>(value: T, amount: T) -> Result<T> {
    Ok(value
        .sub_checked(amount)
        .ok_or(StakingError::InvariantViolated)?)
}

/// Moves `counter` up by `amount` (`Overflow` past its range).
pub fn add_to<T: Counter>(counter: &mut T, amount: T) -> Result<()> {
    *counter = plus(*counter, amount)?;
    Ok(())
}

/// Moves `counter` down by `amount` (`InvariantViolated` below what it holds).
pub fn sub_from<T: Counter>(counter: &mut T, amount: T) -> Result<()> {
    *counter = minus(*counter, amount)?;
    Ok(())
}

/// Which way a counter moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Up,
    Down,
}

impl Step {
    /// `value` moved by `amount` this way ([`plus`] or [`minus`]).
    pub fn apply<T: Counter>(self, value: T, amount: T) -> Result<T> {
        match self {
            Step::Up => plus(value, amount),
            Step::Down => minus(value, amount),
        }
    }

    /// Moves `counter` by `amount` this way ([`add_to`] or [`sub_from`]).
    pub fn move_counter<T: Counter>(self, counter: &mut T, amount: T) -> Result<()> {
        *counter = self.apply(*counter, amount)?;
        Ok(())
    }
}
