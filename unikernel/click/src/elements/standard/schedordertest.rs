//! `SchedOrderTest(ID [, KEYWORDS])`: records the order its tasks run in.
//!
//! # Ports
//! None.
//!
//! # Processing
//! A task that, each time it runs, appends ID to a buffer shared by every
//! `SchedOrderTest` of the router, until the buffer holds SIZE entries
//! (the largest SIZE any of them gives; 1024 by default). A test element
//! for the scheduler: the order is the one this engine runs tasks in,
//! every scheduled task once per pass, without Click's ticket shares
//! (`ScheduleInfo`), so it differs from Click's.
//!
//! # Keywords
//! * `SIZE` (integer): the buffer's size.
//! * `STOP` (bool, default false): stop the driver once the buffer is
//!   full.
//! * `LIMIT` (integer, default 0 = none): run at most LIMIT times.
//!
//! # Handlers
//! * `order` (read): the IDs recorded, space-separated, then a newline.
//!
//! # Example
//! ```text
//! s1 :: SchedOrderTest(1, SIZE 10, STOP true); s2 :: SchedOrderTest(2);
//! DriverManager(wait_stop, print s1.order, stop);
//! ```

use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::fmt::Write;

use crate::element::{Element, ElementClass, HandlerDecl};
use crate::error::ConfigError;
use crate::router::Ctx;

/// The `SchedOrderTest` class.
pub static CLASS: ElementClass = ElementClass {
    name: "SchedOrderTest",
    ports: "0/0",
    processing: "a/a",
    phase: 0,
    make: |args, _cx| {
        let id: i32 = args.required("ID")?;
        let size: usize = args.keyword_or("SIZE", 0)?;
        let stop = args.keyword_or("STOP", false)?;
        let limit: u64 = args.keyword_or("LIMIT", 0)?;
        Ok(Box::new(SchedOrderTest {
            id,
            size,
            stop,
            limit,
            count: 0,
            shared: Rc::new(RefCell::new(Shared::default())),
        }))
    },
};

#[derive(Default)]
struct Shared {
    size: usize,
    order: Vec<i32>,
}

/// Records task runs.
pub struct SchedOrderTest {
    id: i32,
    size: usize,
    stop: bool,
    limit: u64,
    count: u64,
    shared: Rc<RefCell<Shared>>,
}

impl Element for SchedOrderTest {
    fn initialize(&mut self, cx: &Ctx) -> Result<(), ConfigError> {
        // The first one's buffer is everyone's.
        let r = cx.router();
        let first = (0..r.len()).find(|&e| r.info(e).class.name == CLASS.name);
        if let Some(first) = first.filter(|&f| f != cx.eid()) {
            if let Some(Some(s)) = r.with_element(first, |e, _| {
                e.downcast_ref::<SchedOrderTest>().map(|t| t.shared.clone())
            }) {
                self.shared = s;
            }
        }
        let mut s = self.shared.borrow_mut();
        s.size = s.size.max(self.size);
        cx.schedule();
        Ok(())
    }

    fn run_task(&mut self, cx: &Ctx) -> bool {
        {
            let mut s = self.shared.borrow_mut();
            let size = if s.size == 0 { 1024 } else { s.size };
            if s.order.len() < size {
                s.order.push(self.id);
            } else if self.stop {
                cx.request_stop();
            }
        }
        self.count += 1;
        if self.limit != 0 && self.count >= self.limit {
            cx.unschedule();
        }
        true
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[HandlerDecl::read("order")];
        H
    }

    fn read_handler(&self, _cx: &Ctx, _name: &str) -> String {
        let mut out = String::new();
        for (i, id) in self.shared.borrow().order.iter().enumerate() {
            let _ = write!(out, "{}{id}", if i == 0 { "" } else { " " });
        }
        out.push('\n');
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::router_from_source;

    #[test]
    fn tasks_share_one_order() {
        let (r, host) = router_from_source(
            "s1 :: SchedOrderTest(1, SIZE 7, STOP true);\n\
             s2 :: SchedOrderTest(2, LIMIT 2);\n\
             s3 :: SchedOrderTest(3);\n\
             DriverManager(wait_stop, print s1.order, stop);",
        );
        assert!(r.run_until_idle());
        let order = r.read("s3.order").unwrap();
        assert_eq!(*host.stdout.borrow(), order);
        let ids: alloc::vec::Vec<&str> = order.trim_end().split(' ').collect();
        assert_eq!(ids.len(), 7, "{order:?}");
        assert_eq!(&ids[..3], ["1", "2", "3"]);
        assert_eq!(ids.iter().filter(|&&i| i == "2").count(), 2, "LIMIT 2");
    }
}
