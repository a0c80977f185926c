//! The governance CLI's back end (`govern`, keeper/src/bin/govern): the changes and their
//! bounds ([`change`]), their impact on accounts ([`impact`]) and the proposed-transaction file
//! owners sign one by one ([`proposal`]). Every change goes through the engine's admin Safe as a
//! Safe 1.4.1 transaction (see [`crate::safe`]).
pub mod change;
pub mod impact;
pub mod proposal;
