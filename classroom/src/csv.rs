//! The class's answers as CSV, for the teacher's own records (RFC 4180:
//! comma separated, every text cell quoted, quotes doubled). A text cell
//! that a spreadsheet would run as a formula (it starts with = + - @ or a
//! tab) gets a leading apostrophe: a nickname is never a formula.

use crate::protocol::{AnswerView, QuestionView};

/// One question's rows.
pub struct Asked<'a> {
    pub question: &'a QuestionView,
    pub answer: Option<&'a AnswerView>,
    /// (nickname, prediction)
    pub answers: Vec<(&'a str, f64)>,
}

pub const HEADER: &str = "question,lesson_index,lesson_id,lesson_title,question_text,unit,\
nickname,prediction,simulated_mean,simulated_min,simulated_max,seeds";

/// A quoted text cell.
pub fn text(s: &str) -> String {
    let guarded = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    format!("\"{}\"", guarded.replace('"', "\"\""))
}

fn num(x: Option<f64>) -> String {
    x.map_or(String::new(), |x| format!("{x}"))
}

pub fn answers<'a>(questions: impl Iterator<Item = Asked<'a>>) -> String {
    let mut out = String::from(HEADER);
    out.push_str("\r\n");
    for q in questions {
        let v = q.question;
        let prefix = format!(
            "{},{},{},{},{},{}",
            v.seq,
            v.index,
            text(&v.lesson_id),
            text(&v.title),
            text(&v.question),
            text(&v.unit)
        );
        let a = q.answer;
        let suffix = format!(
            "{},{},{},{}",
            num(a.map(|a| a.mean)),
            num(a.map(|a| a.min)),
            num(a.map(|a| a.max)),
            a.map_or(String::new(), |a| a.seeds.to_string())
        );
        for (nickname, value) in &q.answers {
            out.push_str(&format!("{prefix},{},{value},{suffix}\r\n", text(nickname)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        assert_eq!(text("Ada"), "\"Ada\"");
        assert_eq!(text("say \"hi\", ok"), "\"say \"\"hi\"\", ok\"");
        assert_eq!(text("=1+1"), "\"'=1+1\"");
        assert_eq!(text("@SUM(A1)"), "\"'@SUM(A1)\"");
        assert_eq!(text("-2"), "\"'-2\"");
    }

    #[test]
    fn one_row_per_answer_with_the_simulated_answer() {
        let q = QuestionView {
            seq: 2,
            index: 1,
            of: 3,
            lesson_id: "DATA-N+1".into(),
            title: "N+1 queries".into(),
            question: "What p99?".into(),
            unit: "s".into(),
        };
        let a = AnswerView {
            mean: 0.25,
            min: 0.2,
            max: 0.3,
            seeds: 5,
            unit: "s".into(),
        };
        let csv = answers(
            [Asked {
                question: &q,
                answer: Some(&a),
                answers: vec![("Ada", 0.1), ("Bo, \"B\"", 2.0)],
            }]
            .into_iter(),
        );
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(lines[0], HEADER);
        assert_eq!(
            lines[1],
            "2,1,\"DATA-N+1\",\"N+1 queries\",\"What p99?\",\"s\",\"Ada\",0.1,0.25,0.2,0.3,5"
        );
        assert!(lines[2].contains("\"Bo, \"\"B\"\"\",2,"), "{}", lines[2]);
        assert_eq!(lines.len(), 4, "two rows and the final line break");
    }
}
