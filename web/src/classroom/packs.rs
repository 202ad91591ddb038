//! Workshop packs on the page: the shipped ones (`assets/workshops`,
//! embedded), packs opened from files, and packs carried in a link
//! (`#w=1.<base64url(deflate(json))>`, the pack and its lesson files). A
//! pack resolves into a [`Deck`]: each lesson with everything the presenter
//! shows and the server needs (the lesson file, its scenario, the link
//! that runs it). Parsing and checking are sim-core's (`workshop.rs`).

use std::collections::BTreeMap;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use classroom::protocol::Question;
use serde::{Deserialize, Serialize};
use sim_core::lesson::{Lesson, State};
use sim_core::workshop::{Pack, Source};

use crate::lessons;

/// The shipped packs: (name, text), and the lesson files they use.
pub const SHIPPED: &[(&str, &str)] = &[
    (
        "first-hour",
        include_str!("../../../assets/workshops/first-hour.toml"),
    ),
    (
        "our-service",
        include_str!("../../../assets/workshops/our-service.toml"),
    ),
];
const SHIPPED_FILES: &[(&str, &str)] = &[(
    "lessons/queue-at-90.toml",
    include_str!("../../../assets/workshops/lessons/queue-at-90.toml"),
)];

/// A link's data inflates to at most this (a pack and its lesson files).
pub const MAX_LINK_BYTES: usize = 512 * 1024;
/// The link format this build writes and reads.
pub const LINK_VERSION: u32 = 1;

/// One lesson of the deck.
#[derive(Clone, Debug, PartialEq)]
pub struct Slide {
    pub lesson: Lesson,
    pub notes: String,
    /// The lesson file's text (sent to the server, which measures it).
    pub lesson_text: String,
    /// The text of its `scenario_file`, if any.
    pub scenario_text: Option<String>,
    /// A catalogue lesson (the sandbox can open it by id).
    pub catalogue: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Deck {
    pub title: String,
    pub description: String,
    pub slides: Vec<Slide>,
    /// The pack and its files, for the pack's link.
    pub pack_text: String,
    pub files: BTreeMap<String, String>,
}

/// The catalogue lesson's own file text.
fn catalogue_text(id: &str) -> Option<String> {
    let file = format!("{id}.toml");
    lessons::EMBEDDED_LESSONS
        .iter()
        .find(|(f, _)| *f == file)
        .map(|(_, t)| t.to_string())
}

/// Parses, checks and resolves a pack; `files` holds its lesson files.
pub fn deck(pack_text: &str, files: BTreeMap<String, String>) -> Result<Deck, String> {
    let pack = Pack::from_toml_str(pack_text).map_err(|e| format!("workshop pack: {e}"))?;
    let ids: Vec<&str> = lessons::all().iter().map(|l| l.id.as_str()).collect();
    let w = pack
        .resolve(
            |id| lessons::find(id).cloned(),
            |f| files.get(f).map(String::as_str),
            &ids,
        )
        .map_err(|e| format!("workshop pack: {e}"))?;
    let mut slides = Vec::with_capacity(w.lessons.len());
    for (i, wl) in w.lessons.into_iter().enumerate() {
        let (text, catalogue) = match &wl.source {
            Source::Catalogue(id) => (catalogue_text(id).unwrap_or_default(), true),
            Source::File { text, .. } => (text.clone(), false),
        };
        let scenario_text = lessons::file_text(&wl.lesson).map(str::to_string);
        // A lesson file's scenario must build: the presenter runs it.
        lessons::scenario(&wl.lesson, State::Mistake)
            .map_err(|e| format!("workshop pack: lessons[{i}]: {}: {e}", wl.lesson.id))?;
        slides.push(Slide {
            lesson: wl.lesson,
            notes: wl.notes,
            lesson_text: text,
            scenario_text,
            catalogue,
        });
    }
    Ok(Deck {
        title: w.title,
        description: w.description,
        slides,
        pack_text: pack_text.to_string(),
        files,
    })
}

/// A shipped pack by name.
pub fn shipped(name: &str) -> Result<Deck, String> {
    let (_, text) = SHIPPED.iter().find(|(n, _)| *n == name).ok_or_else(|| {
        let names: Vec<&str> = SHIPPED.iter().map(|(n, _)| *n).collect();
        format!(
            "no workshop called {name:?} (shipped: {})",
            names.join(", ")
        )
    })?;
    let files = SHIPPED_FILES
        .iter()
        .map(|(f, t)| (f.to_string(), t.to_string()))
        .collect();
    deck(text, files)
}

impl Slide {
    /// The link that opens this lesson in the sandbox, relative to the
    /// page: by id for the catalogue, else its mistake state in a share link.
    pub fn run_link(&self, embed: bool) -> String {
        let embed = if embed { "&embed" } else { "" };
        if self.catalogue {
            return format!("?lesson={}{embed}", super::percent_encode(&self.lesson.id));
        }
        let text = lessons::scenario_text(&self.lesson, State::Mistake).unwrap_or_default();
        let fragment = crate::share::encode(&crate::share::SharePayload::new(text, 1));
        // `?` keeps the page's path and drops its query (`?workshop=...`).
        let query = if embed.is_empty() { "?" } else { "?embed" };
        format!("{query}{fragment}")
    }

    /// The question the server opens for the class.
    pub fn question(&self, index: usize, of: usize) -> Question {
        Question {
            index: index as u32 + 1,
            of: of as u32,
            lesson_id: self.lesson.id.clone(),
            title: self.lesson.title.clone(),
            question: self.lesson.question.clone(),
            unit: self.unit(),
            lesson: self.lesson_text.clone(),
            scenario: self.scenario_text.clone(),
            run_link: self.run_link(true),
        }
    }

    pub fn unit(&self) -> String {
        self.lesson
            .predict
            .as_ref()
            .map(|p| p.unit.clone())
            .unwrap_or_default()
    }

    /// Whether the lesson asks for a number (the class can predict it).
    pub fn asks(&self) -> bool {
        self.lesson.predict.is_some()
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkData {
    v: u32,
    pack: String,
    #[serde(default)]
    files: BTreeMap<String, String>,
}

const B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The fragment that carries `deck`'s pack: `#w=1.<data>`.
pub fn link_fragment(deck: &Deck) -> String {
    let data = LinkData {
        v: LINK_VERSION,
        pack: deck.pack_text.clone(),
        files: deck.files.clone(),
    };
    let json = serde_json::to_vec(&data).expect("link data serialises");
    let packed = miniz_oxide::deflate::compress_to_vec(&json, 9);
    format!("#w={LINK_VERSION}.{}", B64.encode(packed))
}

/// Reads `w=1.<data>` (with or without `#`) into a deck; the error says
/// which part is wrong.
pub fn from_link(fragment: &str) -> Result<Deck, String> {
    let body = fragment.trim_start_matches('#');
    let rest = body
        .strip_prefix("w=")
        .ok_or("workshop link: expected #w=<version>.<data>")?;
    let (version, data) = rest
        .split_once('.')
        .ok_or("workshop link: expected #w=<version>.<data>")?;
    match version.parse::<u32>() {
        Ok(LINK_VERSION) => {}
        Ok(v) if v > LINK_VERSION => {
            return Err(format!(
            "workshop link: made by a newer tailsim (format {v}; this page reads {LINK_VERSION})"
        ))
        }
        _ => return Err(format!("workshop link: {version:?} is not a format number")),
    }
    let packed = B64
        .decode(data.trim_end())
        .map_err(|e| format!("workshop link: not valid base64url ({e}); was it cut short?"))?;
    let json = miniz_oxide::inflate::decompress_to_vec_with_limit(&packed, MAX_LINK_BYTES)
        .map_err(|e| {
            format!(
                "workshop link: does not decompress ({:?}); was it cut short?",
                e.status
            )
        })?;
    let d: LinkData = serde_json::from_slice(&json)
        .map_err(|e| format!("workshop link: not a workshop ({e})"))?;
    deck(&d.pack, d.files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_pack_opens_and_every_file_is_embedded() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/workshops");
        let on_disk = std::fs::read_dir(dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "toml")
            })
            .count();
        assert_eq!(
            SHIPPED.len(),
            on_disk,
            "a pack in assets/workshops is not in SHIPPED"
        );
        for (name, _) in SHIPPED {
            let d = shipped(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(d.slides.len() >= 3, "{name}");
            for s in &d.slides {
                assert!(!s.lesson_text.is_empty(), "{name}: {}", s.lesson.id);
                assert!(s.asks(), "{name}: {} asks nothing", s.lesson.id);
                let q = s.question(0, d.slides.len());
                classroom::protocol::check_run_link(&q.run_link).unwrap();
                // The server re-reads the lesson from its text.
                let again = Lesson::from_toml_str(&q.lesson).unwrap();
                assert_eq!(again, s.lesson);
            }
        }
        assert!(shipped("nope").unwrap_err().contains("first-hour"));
    }

    #[test]
    fn a_pack_survives_its_link_and_broken_links_say_why() {
        let d = shipped("our-service").unwrap();
        let f = link_fragment(&d);
        assert!(f.starts_with("#w=1."), "{f}");
        assert_eq!(from_link(&f).unwrap(), d);
        assert!(from_link("#w=1.***").unwrap_err().contains("base64url"));
        assert!(from_link("#w=9.abc").unwrap_err().contains("newer tailsim"));
        assert!(from_link("#w=x").unwrap_err().contains("expected"));
        let cut = &f[..f.len() / 2];
        assert!(from_link(cut).is_err());
    }

    #[test]
    fn catalogue_lessons_run_by_id_and_lesson_files_by_share_link() {
        let d = shipped("our-service").unwrap();
        assert!(!d.slides[0].catalogue);
        assert!(d.slides[0].run_link(true).starts_with("?embed#s=1."));
        assert!(d.slides[0].run_link(false).starts_with("?#s=1."));
        assert_eq!(d.slides[1].run_link(true), "?lesson=CONC-NO-TIMEOUT&embed");
        let e = deck(
            "version = 1\ntitle = \"t\"\n[[lessons]]\nid = \"DATA-N+2\"",
            BTreeMap::new(),
        )
        .unwrap_err();
        assert!(e.contains("lessons[0].id") && e.contains("DATA-N+1"), "{e}");
    }
}
