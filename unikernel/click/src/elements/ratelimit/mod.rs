//! Rate limiting: Click's token-bucket splitters and unqueuers, rate
//! meters, and a per-source packet limiter with exportable state.

use crate::element::ElementClass;

pub mod bandwidthmeter;
pub mod bandwidthshaper;
pub mod bwratedsplitter;
pub mod bwratedunqueue;
pub mod ewma;
pub mod meter;
pub mod ratedsplitter;
pub mod ratedunqueue;
pub mod sourcelimiter;
pub mod tokenbucket;

/// This group's classes.
pub static CLASSES: &[&ElementClass] = &[
    &bandwidthmeter::CLASS,
    &bandwidthshaper::CLASS,
    &bwratedsplitter::CLASS,
    &bwratedunqueue::CLASS,
    &meter::CLASS,
    &ratedsplitter::CLASS,
    &ratedunqueue::CLASS,
    &sourcelimiter::CLASS,
];
