//! The classroom's wire protocol: JSON text messages over one WebSocket
//! (`/ws`), tagged by `"type"`. The page (web/src/classroom) and the server
//! share these types, so the two cannot drift apart.
//!
//! A connection's first message says who it is: [`ClientMsg::Teacher`]
//! (the room's code and the teacher's token, from `POST /api/rooms`),
//! [`ClientMsg::Join`] (code and nickname) or [`ClientMsg::Rejoin`] (code
//! and the student's token, after a phone slept). The server answers with
//! [`ServerMsg::Welcome`], then keeps the client's view current: students
//! get [`ServerMsg::Room`], the teacher [`ServerMsg::Teacher`]. Anything
//! refused gets [`ServerMsg::Error`] naming what was wrong; a connection is
//! closed after [`ServerMsg::Closed`].

use serde::{Deserialize, Serialize};

use crate::histogram::Histogram;

/// Characters of a join code, from [`CODE_ALPHABET`]: 31^8 = 8.5e11 codes
/// (39.6 bits), against a handful of live rooms and ten wrong guesses per
/// minute per address.
pub const CODE_LEN: usize = 8;
/// No 0/O, 1/I/L: nothing to misread from a projector.
pub const CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
/// Characters in a nickname.
pub const NICKNAME_MAX: usize = 24;
/// Bytes in a student's message (a prediction is about 60).
pub const MAX_STUDENT_MESSAGE: usize = 512;
/// Bytes in any message (the teacher's question carries the lesson file).
pub const MAX_MESSAGE: usize = 64 * 1024;
/// A prediction's magnitude: at most this, and 0 or at least [`MIN_VALUE`].
pub const MAX_VALUE: f64 = 1e12;
pub const MIN_VALUE: f64 = 1e-9;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMsg {
    /// The teacher's page: the room and its token.
    Teacher { code: String, token: String },
    /// A student joins with a nickname.
    Join { code: String, nickname: String },
    /// A student comes back (same nickname, same answers).
    Rejoin { code: String, token: String },
    /// Answered with `pong` (liveness, and the load test's yardstick).
    Ping { n: u32 },
    /// A student's prediction for question `seq` (the last one counts).
    Predict { seq: u32, value: f64 },
    /// Teacher: ask the class this question (answers start from none).
    Open { question: Question },
    /// Teacher: stop taking answers.
    Close {},
    /// Teacher: show the simulated answer beside the class's guesses.
    Reveal {},
    /// Teacher: every page runs the lesson.
    Run {},
    /// Teacher: stop the run on every page.
    StopRun {},
    /// Teacher: remove a student (a rude nickname).
    Kick { student: u32 },
    /// Teacher: close the room; nothing is kept.
    End {},
}

/// The question the teacher opens: what students see, and what the server
/// needs to measure the answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    /// Position in the workshop (1-based) and its length.
    pub index: u32,
    pub of: u32,
    pub lesson_id: String,
    pub title: String,
    pub question: String,
    pub unit: String,
    /// The lesson file (TOML), run by the server for the answer.
    pub lesson: String,
    /// The text of the lesson's `scenario_file`, if it has one.
    #[serde(default)]
    pub scenario: Option<String>,
    /// What students' pages open to run the lesson: a link relative to
    /// the page, `?lesson=ID&embed` or `?embed#s=1.<data>`.
    pub run_link: String,
}

/// What a student sees of a question.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuestionView {
    /// Numbers the questions of a room; predictions name it.
    pub seq: u32,
    pub index: u32,
    pub of: u32,
    pub lesson_id: String,
    pub title: String,
    pub question: String,
    pub unit: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Teacher,
    Student,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Nothing asked yet.
    Lobby,
    /// Taking predictions.
    Asking,
    /// Answers closed, not revealed.
    Closed,
    /// The answer is beside the distribution.
    Revealed,
}

/// The simulated answer: the lesson's metric over its seeds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AnswerView {
    pub mean: f64,
    pub min: f64,
    pub max: f64,
    pub seeds: u32,
    pub unit: String,
}

/// Where the server is with the answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AnswerStatus {
    None,
    Computing,
    Ready { answer: AnswerView },
    Failed { message: String },
}

/// What every student sees (one serialisation, sent to all).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoomView {
    pub phase: Phase,
    pub question: Option<QuestionView>,
    /// After the reveal: the class's guesses and the answer.
    pub histogram: Option<Histogram>,
    pub answer: Option<AnswerStatus>,
    /// Set while the teacher runs the lesson for all.
    pub run_link: Option<String>,
    pub students: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RosterEntry {
    pub id: u32,
    pub nickname: String,
    pub answered: bool,
    pub online: bool,
}

/// What the teacher sees: the class and its guesses, live.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TeacherView {
    pub code: String,
    pub phase: Phase,
    pub question: Option<QuestionView>,
    pub students: Vec<RosterEntry>,
    /// Students who predicted the open question.
    pub answered: u32,
    /// Their predictions (with the answer's bin once it is known).
    pub histogram: Histogram,
    pub answer: AnswerStatus,
    pub run_link: Option<String>,
    /// Seconds until the room expires.
    pub expires_in_s: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not JSON, or not a message of this protocol.
    Malformed,
    TooLarge,
    RateLimited,
    /// No room has this code (or it expired).
    NoRoom,
    BadToken,
    /// A teacher's action from a student's connection.
    NotTeacher,
    /// Not possible now (no question open, answers closed...).
    NotNow,
    RoomFull,
    ServerFull,
    NicknameTaken,
    BadNickname,
    BadCode,
    BadValue,
    BadQuestion,
    /// The first message must say who the connection is.
    Hello,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    /// The teacher ended the class.
    Ended,
    Expired,
    Kicked,
    /// The same student connected again elsewhere.
    Replaced,
    /// The first message was refused.
    Refused,
    /// Too many bad messages.
    Misbehaving,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    Welcome {
        role: Role,
        code: String,
        /// Students: their id, nickname and the token to come back with.
        #[serde(default)]
        student: Option<u32>,
        #[serde(default)]
        nickname: Option<String>,
        #[serde(default)]
        token: Option<String>,
    },
    Room {
        view: RoomView,
    },
    Teacher {
        view: TeacherView,
    },
    /// A student's own prediction, as recorded.
    Ack {
        seq: u32,
        value: f64,
    },
    Pong {
        n: u32,
    },
    Error {
        code: ErrorCode,
        message: String,
    },
    Closed {
        reason: CloseReason,
        message: String,
    },
}

// ----- checks shared by the page and the server ---------------------------------------

/// A typed code made canonical: upper case, spaces and hyphens dropped.
pub fn normalise_code(typed: &str) -> Result<String, String> {
    let code: String = typed
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '\u{a0}'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if code.chars().count() != CODE_LEN {
        return Err(format!(
            "a join code has {CODE_LEN} characters, like ABCD-EFGH (got {})",
            code.chars().count()
        ));
    }
    if let Some(bad) = code
        .chars()
        .find(|c| !CODE_ALPHABET.contains(&(*c as u8)) || !c.is_ascii())
    {
        return Err(format!(
            "{bad:?} is not in join codes (they use 2-9 and A-Z without I, L, O)"
        ));
    }
    Ok(code)
}

/// `ABCDEFGH` as `ABCD-EFGH`, as the projector shows it.
pub fn format_code(code: &str) -> String {
    if code.len() == CODE_LEN && code.is_ascii() {
        format!("{}-{}", &code[..4], &code[4..])
    } else {
        code.to_string()
    }
}

/// Characters a nickname may not hold: controls, bidirectional overrides
/// and invisible ones (they could hide or reorder text on the projector),
/// and markup.
fn forbidden_in_nickname(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}'
            | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}' | '<' | '>')
}

/// A nickname as shown: trimmed, inner runs of spaces made one. Errors say
/// what to change.
pub fn check_nickname(typed: &str) -> Result<String, String> {
    let name = typed.split_whitespace().collect::<Vec<_>>().join(" ");
    let n = name.chars().count();
    if n == 0 {
        return Err("type a nickname".into());
    }
    if let Some(c) = name.chars().find(|c| forbidden_in_nickname(*c)) {
        let what = if matches!(c, '<' | '>') {
            "< and > (no markup)".to_string()
        } else {
            format!("invisible or control characters like U+{:04X}", c as u32)
        };
        return Err(format!("a nickname cannot contain {what}"));
    }
    if n > NICKNAME_MAX {
        return Err(format!(
            "a nickname has at most {NICKNAME_MAX} characters (got {n})"
        ));
    }
    Ok(name)
}

/// Two nicknames that differ only in case are the same seat.
pub fn nickname_key(name: &str) -> String {
    name.to_lowercase()
}

/// A prediction the class's histogram can hold.
pub fn check_value(x: f64) -> Result<f64, String> {
    if !x.is_finite() {
        return Err("a prediction is a finite number".into());
    }
    if x.abs() > MAX_VALUE {
        return Err(format!("a prediction is at most {MAX_VALUE:e} in size"));
    }
    if x != 0.0 && x.abs() < MIN_VALUE {
        return Err(format!(
            "a prediction is 0 or at least {MIN_VALUE:e} in size"
        ));
    }
    Ok(x)
}

/// A run link is relative to the page and opens the sandbox: `?lesson=` or
/// `?embed...`, in URL-safe characters (never `javascript:` or another site).
pub fn check_run_link(link: &str) -> Result<(), String> {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-._~%+&=#?".contains(c);
    if link.len() > 16 * 1024 {
        return Err("run_link: too long".into());
    }
    if !(link.starts_with("?lesson=") || link.starts_with("?embed")) {
        return Err("run_link: must start with ?lesson= or ?embed".into());
    }
    if let Some(c) = link.chars().find(|c| !safe(*c)) {
        return Err(format!("run_link: {c:?} is not allowed"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_have_a_stable_json_shape() {
        let m: ClientMsg =
            serde_json::from_str(r#"{"type":"predict","seq":3,"value":0.25}"#).unwrap();
        assert_eq!(
            m,
            ClientMsg::Predict {
                seq: 3,
                value: 0.25
            }
        );
        let m: ClientMsg = serde_json::from_str(r#"{"type":"reveal"}"#).unwrap();
        assert_eq!(m, ClientMsg::Reveal {});
        // unknown fields and types are refused, not ignored
        assert!(serde_json::from_str::<ClientMsg>(r#"{"type":"reveal","x":1}"#).is_err());
        assert!(serde_json::from_str::<ClientMsg>(r#"{"type":"nuke"}"#).is_err());
        let s = serde_json::to_string(&ServerMsg::Ack { seq: 1, value: 2.0 }).unwrap();
        assert_eq!(s, r#"{"type":"ack","seq":1,"value":2.0}"#);
    }

    #[test]
    fn codes_are_read_forgivingly_and_checked_strictly() {
        assert_eq!(normalise_code("abcd-efgh").unwrap(), "ABCDEFGH");
        assert_eq!(normalise_code(" 2345 6789 ").unwrap(), "23456789");
        assert!(normalise_code("ABCD-EFG")
            .unwrap_err()
            .contains("8 characters"));
        assert!(normalise_code("ABCD-EFGO").unwrap_err().contains("'O'"));
        assert!(normalise_code("ABCD-EFG\u{e9}").is_err());
        assert_eq!(format_code("ABCDEFGH"), "ABCD-EFGH");
        assert_eq!(CODE_ALPHABET.len(), 31);
    }

    #[test]
    fn nicknames_are_tidied_and_hostile_ones_refused() {
        assert_eq!(check_nickname("  Ada   Lovelace ").unwrap(), "Ada Lovelace");
        assert_eq!(
            check_nickname("O'Brien & \"Co\"").unwrap(),
            "O'Brien & \"Co\""
        );
        assert!(check_nickname("<script>alert(1)</script>")
            .unwrap_err()
            .contains("no markup"));
        assert!(check_nickname("evil\u{202E}gnp.exe")
            .unwrap_err()
            .contains("U+202E"));
        assert!(check_nickname("a\u{0}b").is_err());
        assert!(check_nickname("   ").is_err());
        assert!(check_nickname(&"x".repeat(25))
            .unwrap_err()
            .contains("at most 24"));
        assert_eq!(
            check_nickname(&"\u{e9}".repeat(24))
                .unwrap()
                .chars()
                .count(),
            24
        );
        assert_eq!(nickname_key("Ada"), nickname_key("aDA"));
    }

    #[test]
    fn values_and_run_links_are_bounded() {
        assert_eq!(check_value(0.0), Ok(0.0));
        assert_eq!(check_value(-3.5), Ok(-3.5));
        assert!(check_value(f64::NAN).is_err());
        assert!(check_value(1e13).is_err());
        assert!(check_value(1e-12).is_err());
        assert!(check_run_link("?lesson=DATA-N%2B1&embed").is_ok());
        assert!(check_run_link("?embed#s=1.abc_-").is_ok());
        assert!(check_run_link("javascript:alert(1)").is_err());
        assert!(check_run_link("?lesson=x\"><script>").is_err());
        assert!(check_run_link("//evil.example/?lesson=").is_err());
    }
}
