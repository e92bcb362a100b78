//! Loading the config the host put in the store: a status round reads
//! `status` and, when it says `Running`, the config chunks until one is
//! missing; the text goes to the router, and the outcome back to the store
//! (`error` removed, or `status = Error` and the message in `error`).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use clickos_proto::status;
use xenstore::client::{ClientError, Reply, Request};
use xenstore::Errno;

use super::app::App;
use super::session::{Conn, Tag, HOME};

/// A config larger than this is refused rather than risking the heap.
const CONFIG_MAX: usize = 1 << 20;
/// Config chunks asked for together with `status`: the server answers in
/// order, so when `status` says Running the chunks written before it are
/// already on their way, and a config of up to `PREFETCH - 1` chunks
/// (about 4 KB) loads in one round trip instead of one per chunk plus
/// one for `status`. Replies that turn out not to be needed are dropped.
pub const PREFETCH: u32 = 5;

/// Where the current status round is.
enum Round {
    /// No round: chunk replies still arriving are leftovers, dropped.
    Idle,
    /// `status` and chunks `0..requested` asked for.
    Asked { requested: u32 },
    /// `status` said Running: the config read so far (bytes: chunks are
    /// cut every 992 bytes, possibly inside a character), chunks
    /// `0..requested` asked for.
    Loading { text: Vec<u8>, requested: u32 },
}

/// Status rounds, one at a time.
pub struct ConfigLoader {
    round: Round,
    /// `status` changed during a round: look at it again afterwards.
    again: bool,
}

impl ConfigLoader {
    /// No round yet.
    pub fn new() -> ConfigLoader {
        ConfigLoader {
            round: Round::Idle,
            again: false,
        }
    }

    /// `status` may have changed: start a round, or another one after
    /// this. A read in flight may have been answered before the event was
    /// raised (a poll takes its events before its replies, so the order
    /// they arrived in is lost), hence the second round.
    pub fn status_changed(&mut self, conn: &mut Conn) {
        if !matches!(self.round, Round::Idle) {
            self.again = true;
            return;
        }
        self.round = Round::Asked {
            requested: PREFETCH,
        };
        conn.send(&Request::Read(&HOME.status()), Tag::Status);
        for i in 0..PREFETCH {
            conn.send(&Request::Read(&HOME.chunk(i)), Tag::Chunk(i));
        }
    }

    /// The reply to the round's `status` read.
    pub fn on_status(&mut self, r: Result<Reply, ClientError>, app: &mut App, conn: &mut Conn) {
        let requested = match self.round {
            Round::Asked { requested } => requested,
            _ => 0,
        };
        self.round = Round::Idle;
        match r {
            // The first chunks' replies follow this one.
            Ok(v) if v.bytes() == status::RUNNING.as_bytes() => {
                self.round = Round::Loading {
                    text: Vec::new(),
                    requested,
                }
            }
            Ok(v) if v.bytes() == status::HALTED.as_bytes() => app.halt(),
            _ => self.round_over(conn),
        }
    }

    /// The reply for config chunk `i`: more text, or the end of the
    /// config (a missing chunk), which is then loaded.
    pub fn on_chunk(
        &mut self,
        i: u32,
        r: Result<Reply, ClientError>,
        app: &mut App,
        conn: &mut Conn,
    ) {
        let Round::Loading { text, requested } = &mut self.round else {
            return;
        };
        let config = match r {
            Ok(v) if text.len() + v.bytes().len() <= CONFIG_MAX => {
                text.extend_from_slice(v.bytes());
                if i + 1 >= *requested {
                    *requested = i + 2;
                    conn.send(&Request::Read(&HOME.chunk(i + 1)), Tag::Chunk(i + 1));
                }
                return;
            }
            Ok(_) => Err(format!("config: larger than {CONFIG_MAX} bytes")),
            // A present but empty chunk 0 is an empty config (a valid,
            // empty router); a missing one is no config at all.
            Err(ClientError::Xs(Errno::ENOENT)) if i == 0 => Err(format!(
                "config: no config chunks ({} is missing)",
                HOME.chunk(0)
            )),
            Err(ClientError::Xs(Errno::ENOENT)) => String::from_utf8(core::mem::take(text))
                .map_err(|e| {
                    format!(
                        "config: not UTF-8 text (byte {})",
                        e.utf8_error().valid_up_to()
                    )
                }),
            Err(e) => Err(format!("config: reading chunk {i}: {e}")),
        };
        self.round = Round::Idle;
        match config.and_then(|t| app.load(&t, "config")) {
            Ok(_) => conn.send(&Request::Rm(&HOME.error()), Tag::Ignore),
            Err(msg) => {
                crate::kprintln!("mb: config not loaded; the running router stays:\n{msg}");
                conn.send(
                    &Request::Write(&HOME.status(), status::ERROR.as_bytes()),
                    Tag::Ignore,
                );
                conn.write_message(&HOME.error(), &msg);
            }
        }
        self.round_over(conn);
    }

    /// The round ended: start the next one if an event asked for it
    /// meanwhile.
    fn round_over(&mut self, conn: &mut Conn) {
        if core::mem::take(&mut self.again) {
            self.status_changed(conn);
        }
    }
}
