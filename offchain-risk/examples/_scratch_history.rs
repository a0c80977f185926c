#![allow(missing_docs, clippy::print_stdout)]
use offchain_risk::history::stats::*;
use offchain_risk::history::*;
fn main() {
    let data = DataDir::locate().unwrap();
    for s in ["BTC", "ETH", "SOL", "BNB", "LINK", "XRP", "UNI"] {
        let p = data.prices(s).unwrap();
        let r = p.log_returns(1, Sampling::Overlapping, GapPolicy::Skip).unwrap().log_returns();
        let fit = fit_student_t(&r).unwrap();
        let obs = ewma_margin_backtest(&p, 1, 0.99, 0.94, 30).unwrap();
        let sum = summarise_backtest(&obs, 0.99).unwrap();
        println!("{s} vol {:.3} df {:.2} mom {:?} ewma n {} x {} lr {:.2} p {:.2e} worst {:?}", annualise(sample_volatility(&r).unwrap(),1.0), fit.df, student_t_df_moments(&r).unwrap(), sum.kupiec.observations, sum.kupiec.exceedances, sum.kupiec.statistic, sum.kupiec.p_value, sum.worst_shortfall.map(|w| (w.end.to_string(), w.loss, w.margin)));
    }
    let b = data.ohlcv("BTCUSDT").unwrap().closes();
    for h in [1u32, 5] {
        let obs = ewma_margin_backtest(&b, h, 0.99, 0.94, 30).unwrap();
        let sum = summarise_backtest(&obs, 0.99).unwrap();
        println!("binance BTC h{h} n {} x {} p {:.2e} worst {:?}", sum.kupiec.observations, sum.kupiec.exceedances, sum.kupiec.p_value, sum.worst_shortfall.map(|w| (w.end.to_string(), w.loss, w.margin)));
    }
}
