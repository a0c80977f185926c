//! Placeholder while the protocol crate is written.
#![no_std]
