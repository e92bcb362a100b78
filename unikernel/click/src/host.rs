//! What a router needs from the system it runs on, beyond packets: a place
//! for output text and diagnostics.

use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;

/// Output services the host (the `mbctl run` driver, or the guest kernel)
/// provides to elements such as `DriverManager` and `Print`.
pub trait Host {
    /// Writes `text` to standard output (`file` = `None`) or to the named
    /// file, truncating it first unless `append`.
    fn output(&self, file: Option<&str>, append: bool, text: &str) -> Result<(), String>;
    /// A diagnostic message (Click's `click_chatter`): standard error on the
    /// host, the serial console in the guest. No trailing newline.
    fn log(&self, msg: &str);
}

/// A host that keeps everything in memory (for tests and embedding).
#[derive(Default, Debug)]
pub struct MemoryHost {
    /// Text written to standard output.
    pub stdout: RefCell<String>,
    /// Files written: (name, contents).
    pub files: RefCell<Vec<(String, String)>>,
    /// Diagnostics.
    pub logs: RefCell<Vec<String>>,
}

impl Host for MemoryHost {
    fn output(&self, file: Option<&str>, append: bool, text: &str) -> Result<(), String> {
        match file {
            None => self.stdout.borrow_mut().push_str(text),
            Some(name) => {
                let mut files = self.files.borrow_mut();
                match files.iter_mut().find(|(n, _)| n == name) {
                    Some((_, c)) if append => c.push_str(text),
                    Some((_, c)) => *c = text.into(),
                    None => files.push((name.into(), text.into())),
                }
            }
        }
        Ok(())
    }
    fn log(&self, msg: &str) {
        self.logs.borrow_mut().push(msg.into());
    }
}

impl<T: Host + ?Sized> Host for alloc::rc::Rc<T> {
    fn output(&self, file: Option<&str>, append: bool, text: &str) -> Result<(), String> {
        (**self).output(file, append, text)
    }
    fn log(&self, msg: &str) {
        (**self).log(msg)
    }
}
