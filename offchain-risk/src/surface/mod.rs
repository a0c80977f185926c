//! Volatility skew: option quotes flow in through [`calibrate`] (raw SVI per expiry, fitted by
//! the quasi-explicit method), are checked by [`arbitrage`] (butterfly: Durrleman's g >= 0;
//! calendar: total variance non-decreasing in expiry), and come out as a [`VolSurface`] that
//! interpolates the [`SviSlice`]s in total variance and gives implied vol and its derivatives at
//! any (log-moneyness, expiry). [`report`] runs the whole pipeline over the shared data set and
//! renders the fit report.

pub mod arbitrage;
pub mod calibrate;
mod qp;
pub mod report;
pub mod svi;
pub mod vol_surface;

pub use calibrate::{
    calibrate_slice, calibrate_surface, ArbitragePolicy, CalibratedSlice, CalibrationConfig,
    FitReport, QuoteVol, SliceFit, SliceQuote, SviBounds, Weighting,
};
pub use svi::{SviParams, SviSlice};
pub use vol_surface::{ExpirySmile, VolSurface};
