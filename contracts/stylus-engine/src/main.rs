//! `cargo stylus export-abi` entry (feature `export-abi`): prints the contract's Solidity
//! interface.

fn main() {
    margin_engine_stylus::export::print_from_args();
}
