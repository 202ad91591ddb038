//! One room, as a state machine with no sockets and no clock: the server
//! passes the time in and turns the views into messages. Every input is
//! checked here, so the tests of this file are the tests of what a client
//! can and cannot do.

use std::collections::BTreeMap;

use crate::histogram::{histogram, Histogram};
use crate::limits::Limits;
use crate::protocol::{
    check_nickname, check_run_link, check_value, nickname_key, AnswerStatus, AnswerView, ErrorCode,
    Phase, Question, QuestionView, RoomView, RosterEntry, TeacherView,
};

/// A refusal: the code the client gets, and what was wrong.
pub type Refusal = (ErrorCode, String);

fn refuse<T>(code: ErrorCode, message: impl Into<String>) -> Result<T, Refusal> {
    Err((code, message.into()))
}

#[derive(Debug)]
struct Student {
    nickname: String,
    token: String,
    /// Removed by the teacher: no seat, no token, answers kept for the export.
    kicked: bool,
    online: bool,
}

/// A question as asked, with the class's answers.
#[derive(Debug)]
struct Asked {
    view: QuestionView,
    run_link: String,
    answers: BTreeMap<u32, f64>,
    answer: AnswerStatus,
}

#[derive(Debug)]
pub struct Room {
    code: String,
    teacher_token: String,
    expires_ms: u64,
    idle_since_ms: Option<u64>,
    limits: Limits,
    students: BTreeMap<u32, Student>,
    by_nickname: BTreeMap<String, u32>,
    by_token: BTreeMap<String, u32>,
    phase: Phase,
    asked: Vec<Asked>,
    running: bool,
}

/// Compares in time independent of where the strings differ.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn check_len(field: &str, s: &str, max: usize) -> Result<(), Refusal> {
    if s.len() > max {
        return refuse(
            ErrorCode::BadQuestion,
            format!("question.{field}: at most {max} bytes, got {}", s.len()),
        );
    }
    Ok(())
}

impl Room {
    pub fn new(code: String, teacher_token: String, now_ms: u64, limits: Limits) -> Room {
        Room {
            code,
            teacher_token,
            expires_ms: now_ms + limits.room_ttl.as_millis() as u64,
            idle_since_ms: Some(now_ms),
            limits,
            students: BTreeMap::new(),
            by_nickname: BTreeMap::new(),
            by_token: BTreeMap::new(),
            phase: Phase::Lobby,
            asked: Vec::new(),
            running: false,
        }
    }

    pub fn code(&self) -> &str {
        &self.code
    }

    pub fn is_teacher(&self, token: &str) -> bool {
        same_secret(token, &self.teacher_token)
    }

    /// Past its lifetime, or its teacher away for `idle_ttl`.
    pub fn expired(&self, now_ms: u64) -> bool {
        let idle = self
            .idle_since_ms
            .is_some_and(|t| now_ms >= t + self.limits.idle_ttl.as_millis() as u64);
        now_ms >= self.expires_ms || idle
    }

    pub fn teacher_online(&mut self, online: bool, now_ms: u64) {
        self.idle_since_ms = if online { None } else { Some(now_ms) };
    }

    /// Seats taken (students the teacher has not removed).
    pub fn seated(&self) -> usize {
        self.students.values().filter(|s| !s.kicked).count()
    }

    /// Seats a new student with `token` (made by the caller, who has the
    /// entropy). Returns the student's id and nickname as shown.
    pub fn join(&mut self, nickname: &str, token: String) -> Result<(u32, String), Refusal> {
        let name = check_nickname(nickname).or_else(|m| refuse(ErrorCode::BadNickname, m))?;
        if self.by_nickname.contains_key(&nickname_key(&name)) {
            return refuse(
                ErrorCode::NicknameTaken,
                format!("{name:?} is taken in this room: pick another nickname"),
            );
        }
        // Removed students keep their entry (their answers stay in the
        // export), so entries are capped too: at twice the seats.
        if self.seated() >= self.limits.max_students
            || self.students.len() >= 2 * self.limits.max_students
        {
            return refuse(
                ErrorCode::RoomFull,
                format!("this room is full ({} students)", self.limits.max_students),
            );
        }
        let id = self.students.len() as u32;
        self.by_nickname.insert(nickname_key(&name), id);
        self.by_token.insert(token.clone(), id);
        self.students.insert(
            id,
            Student {
                nickname: name.clone(),
                token,
                kicked: false,
                online: false,
            },
        );
        Ok((id, name))
    }

    /// The student holding `token`: their id and nickname.
    pub fn rejoin(&self, token: &str) -> Result<(u32, String), Refusal> {
        let id = self.by_token.get(token).copied();
        match id.and_then(|id| self.students.get(&id).map(|s| (id, s))) {
            Some((id, s)) if same_secret(&s.token, token) => Ok((id, s.nickname.clone())),
            _ => refuse(ErrorCode::BadToken, "this seat is not in the room any more"),
        }
    }

    pub fn set_online(&mut self, student: u32, online: bool) {
        if let Some(s) = self.students.get_mut(&student) {
            s.online = online;
        }
    }

    pub fn is_seated(&self, student: u32) -> bool {
        self.students.get(&student).is_some_and(|s| !s.kicked)
    }

    /// Opens a question: answers start from none. Returns its number.
    pub fn open(&mut self, q: Question) -> Result<u32, Refusal> {
        check_len("lesson_id", &q.lesson_id, 100)?;
        check_len("title", &q.title, 300)?;
        check_len("question", &q.question, 2_000)?;
        check_len("unit", &q.unit, 40)?;
        check_len("lesson", &q.lesson, 48 * 1024)?;
        check_len("scenario", q.scenario.as_deref().unwrap_or(""), 48 * 1024)?;
        check_run_link(&q.run_link).or_else(|m| refuse(ErrorCode::BadQuestion, m))?;
        if q.index == 0 || q.index > q.of || q.of > 1_000 {
            return refuse(
                ErrorCode::BadQuestion,
                format!("question.index: {} of {} is not a position", q.index, q.of),
            );
        }
        if self.asked.len() >= self.limits.max_questions {
            return refuse(
                ErrorCode::BadQuestion,
                format!(
                    "this room has asked {} questions, its most: open a new room",
                    self.asked.len()
                ),
            );
        }
        let seq = self.asked.len() as u32 + 1;
        self.asked.push(Asked {
            view: QuestionView {
                seq,
                index: q.index,
                of: q.of,
                lesson_id: q.lesson_id,
                title: q.title,
                question: q.question,
                unit: q.unit,
            },
            run_link: q.run_link,
            answers: BTreeMap::new(),
            answer: AnswerStatus::Computing,
        });
        self.phase = Phase::Asking;
        self.running = false;
        Ok(seq)
    }

    fn current(&self) -> Option<&Asked> {
        self.asked.last()
    }

    /// The number of the question asked last.
    pub fn current_seq(&self) -> Option<u32> {
        self.current().map(|a| a.view.seq)
    }

    /// Records a prediction; the last one before the answers close counts.
    pub fn predict(&mut self, student: u32, seq: u32, value: f64) -> Result<f64, Refusal> {
        let value = check_value(value).or_else(|m| refuse(ErrorCode::BadValue, m))?;
        if !self.is_seated(student) {
            return refuse(ErrorCode::BadToken, "you are not in this room any more");
        }
        if self.phase != Phase::Asking || self.current().map(|a| a.view.seq) != Some(seq) {
            return refuse(ErrorCode::NotNow, "this question is not taking answers");
        }
        let q = self.asked.last_mut().expect("asking means a question");
        q.answers.insert(student, value);
        Ok(value)
    }

    /// The student's own prediction for the current question.
    pub fn prediction_of(&self, student: u32) -> Option<(u32, f64)> {
        let q = self.current()?;
        q.answers.get(&student).map(|v| (q.view.seq, *v))
    }

    pub fn close(&mut self) -> Result<(), Refusal> {
        if self.phase != Phase::Asking {
            return refuse(ErrorCode::NotNow, "no question is taking answers");
        }
        self.phase = Phase::Closed;
        Ok(())
    }

    pub fn reveal(&mut self) -> Result<(), Refusal> {
        if self.current().is_none() {
            return refuse(ErrorCode::NotNow, "nothing has been asked yet");
        }
        self.phase = Phase::Revealed;
        Ok(())
    }

    /// Runs the lesson on every page (or stops it).
    pub fn run(&mut self, on: bool) -> Result<(), Refusal> {
        if self.current().is_none() {
            return refuse(ErrorCode::NotNow, "open a lesson's question first");
        }
        self.running = on;
        Ok(())
    }

    /// Removes a student: their seat and nickname are free, their token
    /// is void, their answers stay in the export.
    pub fn kick(&mut self, student: u32) -> Result<(), Refusal> {
        let Some(s) = self.students.get_mut(&student).filter(|s| !s.kicked) else {
            return refuse(
                ErrorCode::NotNow,
                format!("no student {student} in the room"),
            );
        };
        s.kicked = true;
        s.online = false;
        self.by_nickname.remove(&nickname_key(&s.nickname));
        self.by_token.remove(&s.token);
        if let Some(q) = self.asked.last_mut() {
            if self.phase == Phase::Asking {
                q.answers.remove(&student);
            }
        }
        Ok(())
    }

    /// The measured answer of question `seq` arrived (or failed).
    pub fn set_answer(&mut self, seq: u32, status: AnswerStatus) {
        if let Some(q) = self.asked.iter_mut().find(|a| a.view.seq == seq) {
            q.answer = status;
        }
    }

    fn histogram_of(q: &Asked, with_answer: bool) -> Histogram {
        let values: Vec<f64> = q.answers.values().copied().collect();
        let mark = match (&q.answer, with_answer) {
            (AnswerStatus::Ready { answer }, true) => Some(answer.mean),
            _ => None,
        };
        histogram(&values, mark)
    }

    /// What every student sees.
    pub fn student_view(&self) -> RoomView {
        let q = self.current();
        let revealed = self.phase == Phase::Revealed;
        RoomView {
            phase: self.phase,
            question: q.map(|a| a.view.clone()),
            histogram: q.filter(|_| revealed).map(|a| Room::histogram_of(a, true)),
            answer: q.filter(|_| revealed).map(|a| a.answer.clone()),
            run_link: q.filter(|_| self.running).map(|a| a.run_link.clone()),
            students: self.seated() as u32,
        }
    }

    /// What the teacher sees.
    pub fn teacher_view(&self, now_ms: u64) -> TeacherView {
        let q = self.current();
        let students = self
            .students
            .iter()
            .filter(|(_, s)| !s.kicked)
            .map(|(id, s)| RosterEntry {
                id: *id,
                nickname: s.nickname.clone(),
                answered: q.is_some_and(|a| a.answers.contains_key(id)),
                online: s.online,
            })
            .collect();
        TeacherView {
            code: self.code.clone(),
            phase: self.phase,
            question: q.map(|a| a.view.clone()),
            students,
            answered: q.map_or(0, |a| a.answers.len() as u32),
            histogram: q.map_or_else(Histogram::empty, |a| {
                Room::histogram_of(a, self.phase == Phase::Revealed)
            }),
            answer: q.map_or(AnswerStatus::None, |a| a.answer.clone()),
            run_link: q.filter(|_| self.running).map(|a| a.run_link.clone()),
            expires_in_s: self.expires_in_ms(now_ms) / 1000,
        }
    }

    fn expires_in_ms(&self, now_ms: u64) -> u64 {
        let idle_end = self
            .idle_since_ms
            .map_or(u64::MAX, |t| t + self.limits.idle_ttl.as_millis() as u64);
        self.expires_ms.min(idle_end).saturating_sub(now_ms)
    }

    /// Every answer of every question, for the teacher's records.
    pub fn csv(&self) -> String {
        crate::csv::answers(self.asked.iter().map(|a| {
            crate::csv::Asked {
                question: &a.view,
                answer: match &a.answer {
                    AnswerStatus::Ready { answer } => Some(answer),
                    _ => None,
                },
                answers: a
                    .answers
                    .iter()
                    .map(|(id, v)| (self.students[id].nickname.as_str(), *v))
                    .collect(),
            }
        }))
    }
}

/// The answer view of a measured lesson.
pub fn answer_view(a: &sim_core::workshop::ClassAnswer) -> AnswerView {
    AnswerView {
        mean: a.mean,
        min: a.min,
        max: a.max,
        seeds: a.values.len() as u32,
        unit: a.unit.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            max_students: 3,
            max_questions: 2,
            ..Limits::default()
        }
    }

    fn room() -> Room {
        Room::new("ABCDEFGH".into(), "t".repeat(32), 0, limits())
    }

    pub fn question(n: u32) -> Question {
        Question {
            index: n,
            of: 3,
            lesson_id: format!("L{n}"),
            title: format!("Lesson {n}"),
            question: "How slow?".into(),
            unit: "s".into(),
            lesson: "id = \"L\"".into(),
            scenario: None,
            run_link: format!("?lesson=L{n}&embed"),
        }
    }

    #[test]
    fn students_join_with_unique_nicknames_up_to_the_cap() {
        let mut r = room();
        assert_eq!(
            r.join(" Ada  L ", "k1".into()).unwrap(),
            (0, "Ada L".into())
        );
        assert_eq!(
            r.join("ada l", "k2".into()).unwrap_err().0,
            ErrorCode::NicknameTaken
        );
        assert_eq!(
            r.join("<b>x</b>", "k2".into()).unwrap_err().0,
            ErrorCode::BadNickname
        );
        r.join("Bo", "k2".into()).unwrap();
        r.join("Cy", "k3".into()).unwrap();
        assert_eq!(
            r.join("Di", "k4".into()).unwrap_err().0,
            ErrorCode::RoomFull
        );
        assert_eq!(r.rejoin("k2").unwrap(), (1, "Bo".into()));
        assert_eq!(r.rejoin("nope").unwrap_err().0, ErrorCode::BadToken);
        // removing a student frees the seat and the nickname, voids the token
        r.kick(1).unwrap();
        assert_eq!(r.rejoin("k2").unwrap_err().0, ErrorCode::BadToken);
        r.join("Bo", "k5".into()).unwrap();
        assert_eq!(r.seated(), 3);
    }

    #[test]
    fn predictions_count_once_per_student_while_the_question_is_open() {
        let mut r = room();
        r.join("Ada", "k1".into()).unwrap();
        r.join("Bo", "k2".into()).unwrap();
        assert_eq!(r.predict(0, 1, 0.5).unwrap_err().0, ErrorCode::NotNow);
        let seq = r.open(question(1)).unwrap();
        r.predict(0, seq, 0.5).unwrap();
        r.predict(0, seq, 0.7).unwrap(); // changed their mind
        r.predict(1, seq, 0.2).unwrap();
        assert_eq!(r.predict(1, seq + 1, 0.2).unwrap_err().0, ErrorCode::NotNow);
        assert_eq!(
            r.predict(1, seq, f64::INFINITY).unwrap_err().0,
            ErrorCode::BadValue
        );
        assert_eq!(r.predict(9, seq, 1.0).unwrap_err().0, ErrorCode::BadToken);
        let t = r.teacher_view(0);
        assert_eq!(t.answered, 2);
        assert_eq!(t.histogram.total, 2);
        assert_eq!(r.prediction_of(0), Some((seq, 0.7)));
        // students see no distribution before the reveal
        assert!(r.student_view().histogram.is_none());
        r.close().unwrap();
        assert_eq!(r.predict(1, seq, 0.3).unwrap_err().0, ErrorCode::NotNow);
    }

    #[test]
    fn the_reveal_shows_the_answer_beside_the_distribution() {
        let mut r = room();
        r.join("Ada", "k1".into()).unwrap();
        let seq = r.open(question(1)).unwrap();
        r.predict(0, seq, 0.1).unwrap();
        let answer = AnswerView {
            mean: 3.0,
            min: 2.5,
            max: 3.5,
            seeds: 5,
            unit: "s".into(),
        };
        r.set_answer(
            seq,
            AnswerStatus::Ready {
                answer: answer.clone(),
            },
        );
        r.reveal().unwrap();
        let v = r.student_view();
        assert_eq!(v.phase, Phase::Revealed);
        assert_eq!(v.answer, Some(AnswerStatus::Ready { answer }));
        let h = v.histogram.unwrap();
        assert_eq!(h.total, 1);
        assert!(h.bin_of(3.0).is_some(), "the answer has a bin: {h:?}");
        r.run(true).unwrap();
        assert_eq!(
            r.student_view().run_link.as_deref(),
            Some("?lesson=L1&embed")
        );
    }

    #[test]
    fn questions_are_validated_and_capped() {
        let mut r = room();
        let mut q = question(1);
        q.run_link = "javascript:alert(1)".into();
        assert_eq!(r.open(q).unwrap_err().0, ErrorCode::BadQuestion);
        let mut q = question(1);
        q.title = "x".repeat(301);
        assert!(r.open(q).unwrap_err().1.starts_with("question.title"));
        let mut q = question(4);
        q.of = 3;
        assert_eq!(r.open(q).unwrap_err().0, ErrorCode::BadQuestion);
        r.open(question(1)).unwrap();
        r.open(question(2)).unwrap();
        assert!(r
            .open(question(3))
            .unwrap_err()
            .1
            .contains("open a new room"));
    }

    #[test]
    fn rooms_expire_after_their_life_or_their_teacher_s_absence() {
        let l = limits();
        let mut r = room();
        let idle = l.idle_ttl.as_millis() as u64;
        assert!(!r.expired(idle - 1));
        assert!(r.expired(idle));
        r.teacher_online(true, 10);
        assert!(!r.expired(idle + 10));
        assert!(r.expired(l.room_ttl.as_millis() as u64));
        assert!(r.is_teacher(&"t".repeat(32)));
        assert!(!r.is_teacher("t"));
    }

    #[test]
    fn the_export_keeps_removed_students_answers() {
        let mut r = room();
        r.join("Ada", "k1".into()).unwrap();
        r.join("=cmd|' /C calc'!A0", "k2".into()).unwrap();
        let seq = r.open(question(1)).unwrap();
        r.predict(0, seq, 0.5).unwrap();
        r.predict(1, seq, 2.0).unwrap();
        r.close().unwrap();
        r.kick(1).unwrap();
        let csv = r.csv();
        assert!(csv.contains("Ada"), "{csv}");
        // a formula in a nickname stays text in a spreadsheet
        assert!(csv.contains("\"'=cmd|' /C calc'!A0\""), "{csv}");
    }
}
