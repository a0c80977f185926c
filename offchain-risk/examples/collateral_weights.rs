//! Prints the generated section of `docs/COLLATERAL_WEIGHTS.md` (covering weights and
//! calibration tables) from the shared data set (`$XMARGIN_DATA_DIR` or `../shared/data`).
//! Paste it over the doc's generated block; the `collateral` test checks they agree.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use offchain_risk::collateral::weights_doc_section;
use offchain_risk::history::DataDir;

fn main() -> std::process::ExitCode {
    match DataDir::locate().and_then(|data| weights_doc_section(&data)) {
        Ok(section) => {
            print!("{section}");
            std::process::ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("collateral_weights: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
