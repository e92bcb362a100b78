//! Basic elements: counting, dropping, copying, painting, queueing,
//! scheduling, switching, sources, stripping.

use crate::element::ElementClass;

pub mod addressinfo;
pub mod align;
pub mod averagecounter;
pub mod checklength;
pub mod checkpaint;
pub mod clickyinfo;
pub mod counter;
pub mod delayshaper;
pub mod discard;
pub mod dropbroadcasts;
pub mod frontdropqueue;
pub mod hashswitch;
pub mod idle;
pub mod infinitesource;
pub mod linkunqueue;
pub mod notify;
pub mod null;
pub mod paint;
pub mod paintswitch;
pub mod painttee;
pub mod print;
pub mod priosched;
pub mod pulltee;
pub mod queue;
pub mod randomswitch;
pub mod ratedsource;
pub mod red;
pub mod rrsched;
pub mod rrswitch;
#[cfg(test)]
mod scenario_tests;
pub mod schedordertest;
pub mod scheduleinfo;
pub mod setpackettype;
pub mod settimestamp;
pub mod staticswitch;
pub mod stridesched;
pub mod strip;
pub mod switch;
pub mod tee;
#[cfg(test)]
pub(crate) mod test_util;
pub mod timedsink;
pub mod timedsource;
pub mod unqueue;
pub mod unstrip;

/// This group's classes.
pub static CLASSES: &[&ElementClass] = &[
    &addressinfo::CLASS,
    &align::CLASS,
    &averagecounter::CLASS,
    &checklength::CLASS,
    &checkpaint::CLASS,
    &clickyinfo::CLASS,
    &counter::CLASS,
    &delayshaper::CLASS,
    &discard::CLASS,
    &dropbroadcasts::CLASS,
    &frontdropqueue::CLASS,
    &hashswitch::CLASS,
    &idle::CLASS,
    &infinitesource::CLASS,
    &linkunqueue::CLASS,
    &null::CLASS,
    &paint::CLASS,
    &red::CLASS,
    &paintswitch::CLASS,
    &painttee::CLASS,
    &print::CLASS,
    &priosched::CLASS,
    &pulltee::CLASS,
    &queue::CLASS,
    &randomswitch::CLASS,
    &ratedsource::CLASS,
    &rrsched::CLASS,
    &rrswitch::CLASS,
    &scheduleinfo::CLASS,
    &schedordertest::CLASS,
    &setpackettype::CLASS,
    &settimestamp::CLASS,
    &staticswitch::CLASS,
    &stridesched::CLASS,
    &strip::CLASS,
    &switch::CLASS,
    &tee::CLASS,
    &timedsink::CLASS,
    &timedsource::CLASS,
    &unqueue::CLASS,
    &unstrip::CLASS,
];
