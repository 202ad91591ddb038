//! Share links and embedding: the whole sandbox state in the URL fragment,
//! `#s=1.<base64url(deflate(json))>`, so a link opens the same scenario,
//! seed, lesson and toggles anywhere, with no server.
//!
//! Compatibility: the payload only grows by optional fields. Decoding
//! ignores unknown fields and defaults missing optional ones, so links made
//! by older builds keep opening (a committed v1 link is decoded by the
//! tests); a link whose format number is newer than this build's says so.
//!
//! Hostile input (links are typed, truncated and forged) gets a distinct
//! error naming the part that is wrong, never a panic; the inflated payload
//! is capped at [`MAX_INFLATED`] bytes, so a decompression bomb costs
//! nothing.
//!
//! Also: the page's route (`?embed`, `?lesson=ID`, `#s=...`) and the
//! `<iframe>` snippet for embedding. Browser-free and unit-tested natively.

use std::collections::BTreeMap;
use std::fmt;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sim_core::lesson::State;
use sim_core::Scenario;

/// The link format this build writes and reads.
pub const VERSION: u32 = 1;

/// The most bytes a link's payload may inflate to (a scenario TOML is a
/// few kB; the largest shipped one is under 10 kB).
pub const MAX_INFLATED: usize = 256 * 1024;

/// What a share link carries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SharePayload {
    /// The payload format ([`VERSION`]).
    pub v: u32,
    /// The scenario, as TOML (the edited document, sliders included).
    pub scenario: String,
    pub seed: u64,
    /// The open lesson's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lesson: Option<String>,
    /// The open lesson's TOML, when the user wrote it (a shipped lesson
    /// goes by its id alone): a link opens it without a rebuild.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lesson_text: Option<String>,
    /// The shipped scenario the text started from (`catalogue/DATA-N+1.toml`):
    /// it brings the scenario's anti-pattern toggles along.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The lesson's state, when a lesson is open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<State>,
    /// Anti-pattern toggles by id (`lessons::ToggleDef::id`) and their state.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub toggles: BTreeMap<String, State>,
    /// How the page was laid out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view: Option<ShareView>,
}

impl SharePayload {
    /// A v1 payload with only the required fields.
    pub fn new(scenario: impl Into<String>, seed: u64) -> SharePayload {
        SharePayload {
            v: VERSION,
            scenario: scenario.into(),
            seed,
            lesson: None,
            lesson_text: None,
            id: None,
            state: None,
            toggles: BTreeMap::new(),
            view: None,
        }
    }
}

/// The page's layout in a link; every field optional.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ShareView {
    /// The open side panel (e.g. "why", "toggles").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub panel: Option<String>,
    /// The node in focus.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub focus: Option<String>,
    /// Simulated seconds per real second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed: Option<f64>,
}

/// Why a link does not open; each names the part that is wrong.
#[derive(Clone, Debug, PartialEq)]
pub enum ShareError {
    /// Not `#s=<version>.<data>`.
    BadPrefix(String),
    /// The format number is not a number this build knows.
    BadVersion(String),
    /// Made by a newer build (its format number).
    NewerVersion(u32),
    /// The data is not base64url.
    Base64(String),
    /// The data is not a deflate stream.
    Deflate(String),
    /// The data inflates past [`MAX_INFLATED`].
    TooLarge { limit: usize },
    /// The payload is not the expected JSON: the field path and the error.
    Json { path: String, message: String },
    /// The scenario does not build: its field path and the error.
    Scenario { path: String, message: String },
}

impl fmt::Display for ShareError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShareError::BadPrefix(got) => write!(
                f,
                "share link: expected `#s=<version>.<data>` after the address, got {got:?}"
            ),
            ShareError::BadVersion(v) => write!(
                f,
                "share link: the format number {v:?} is not valid (this page reads format {VERSION})"
            ),
            ShareError::NewerVersion(v) => write!(
                f,
                "share link: made by a newer tailsim (link format {v}; this page reads format \
                 {VERSION}): open it with the latest tailsim"
            ),
            ShareError::Base64(e) => write!(
                f,
                "share link: the data is not valid base64url ({e}); was the link cut short or edited?"
            ),
            ShareError::Deflate(e) => write!(
                f,
                "share link: the data does not decompress ({e}); was the link cut short or edited?"
            ),
            ShareError::TooLarge { limit } => write!(
                f,
                "share link: the data inflates to more than {limit} bytes; not opened"
            ),
            ShareError::Json { path, message } => {
                write!(f, "share link: payload field `{path}`: {message}")
            }
            ShareError::Scenario { path, message } => {
                write!(f, "share link: scenario field `{path}`: {message}")
            }
        }
    }
}

impl std::error::Error for ShareError {}

/// base64url, written without padding, read with or without it.
const B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The fragment for `p`, `#s=1.<base64url(deflate(json))>`.
pub fn encode(p: &SharePayload) -> String {
    let json = serde_json::to_vec(p).expect("payload serialises");
    let packed = miniz_oxide::deflate::compress_to_vec(&json, 9);
    format!("#s={}.{}", p.v, B64.encode(packed))
}

/// Reads a fragment made by [`encode`] (with or without the leading `#`).
/// The scenario is built, so a payload that decodes also opens.
pub fn decode(fragment: &str) -> Result<SharePayload, ShareError> {
    let short = |s: &str| s.chars().take(40).collect::<String>();
    let body = fragment.strip_prefix('#').unwrap_or(fragment);
    let rest = body
        .strip_prefix("s=")
        .ok_or_else(|| ShareError::BadPrefix(short(body)))?;
    let (version, data) = rest
        .split_once('.')
        .ok_or_else(|| ShareError::BadPrefix(short(body)))?;
    let v: u32 = version
        .parse()
        .map_err(|_| ShareError::BadVersion(short(version)))?;
    check_version(v)?;
    let packed = B64
        .decode(data.trim_end())
        .map_err(|e| ShareError::Base64(e.to_string()))?;
    let json =
        miniz_oxide::inflate::decompress_to_vec_with_limit(&packed, MAX_INFLATED).map_err(|e| {
            match e.status {
                miniz_oxide::inflate::TINFLStatus::HasMoreOutput => ShareError::TooLarge {
                    limit: MAX_INFLATED,
                },
                status => ShareError::Deflate(format!("{status:?}")),
            }
        })?;
    let mut de = serde_json::Deserializer::from_slice(&json);
    let p: SharePayload = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        ShareError::Json {
            path: if path == "." {
                "(top level)".into()
            } else {
                path
            },
            message: e.into_inner().to_string(),
        }
    })?;
    check_version(p.v)?;
    Scenario::from_str_any(&p.scenario).map_err(|e| ShareError::Scenario {
        path: if e.path.is_empty() {
            "(top level)".into()
        } else {
            e.path.clone()
        },
        message: e.message.clone(),
    })?;
    Ok(p)
}

fn check_version(v: u32) -> Result<(), ShareError> {
    match v {
        VERSION => Ok(()),
        v if v > VERSION => Err(ShareError::NewerVersion(v)),
        v => Err(ShareError::BadVersion(v.to_string())),
    }
}

// ----- the page's address ------------------------------------------------------------

/// What the address asks the page to open.
#[derive(Clone, Debug, PartialEq)]
pub enum Route {
    /// The sandbox with its default scenario.
    Sandbox,
    /// `?lesson=ID`.
    Lesson(String),
    /// `#s=...` (it wins over `?lesson`: the payload names its lesson).
    Shared(SharePayload),
    /// `#s=...` that does not open: show the error, then the sandbox.
    BadLink(ShareError),
}

/// The parsed address.
#[derive(Clone, Debug, PartialEq)]
pub struct PageRoute {
    /// `?embed`: the compact layout for an `<iframe>`.
    pub embed: bool,
    pub route: Route,
}

/// `%2B` -> `+`. A `+` stays a `+` (lesson ids contain it); anything
/// malformed stays as it is.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Encodes everything but unreserved characters (`A-Z a-z 0-9 - _ . ~`).
fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// (address without query and fragment, query, fragment).
fn split_url(href: &str) -> (&str, &str, &str) {
    let (before, fragment) = href.split_once('#').unwrap_or((href, ""));
    let (base, query) = before.split_once('?').unwrap_or((before, ""));
    (base, query, fragment)
}

/// Reads the page's address (`location.href`, or just its `?...#...`).
pub fn parse_route(href: &str) -> PageRoute {
    let (_, query, fragment) = split_url(href);
    let mut embed = false;
    let mut lesson = None;
    for kv in query.split('&').filter(|s| !s.is_empty()) {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        match k {
            "embed" => embed = !matches!(v, "0" | "false"),
            "lesson" if !v.is_empty() => lesson = Some(percent_decode(v)),
            _ => {}
        }
    }
    let share = fragment
        .split('&')
        .find(|kv| kv.starts_with("s="))
        .map(decode);
    let route = match (share, lesson) {
        (Some(Ok(p)), _) => Route::Shared(p),
        (Some(Err(e)), _) => Route::BadLink(e),
        (None, Some(id)) => Route::Lesson(id),
        (None, None) => Route::Sandbox,
    };
    PageRoute { embed, route }
}

/// The page's address without query or fragment.
pub fn page_base(page_url: &str) -> &str {
    split_url(page_url).0
}

/// A link to a lesson: `<page>?lesson=DATA-N%2B1`.
pub fn lesson_link(page_url: &str, lesson_id: &str) -> String {
    format!(
        "{}?lesson={}",
        page_base(page_url),
        percent_encode(lesson_id)
    )
}

/// A link to a shared state: `<page>#s=1....`.
pub fn share_link(page_url: &str, p: &SharePayload) -> String {
    format!("{}{}", page_base(page_url), encode(p))
}

fn html_attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The light embed (`embed/`, what a blog post should use): a module
/// script and a `<tailsim-embed>` element, opening `link`: a lesson query
/// (`?lesson=ID`) becomes `lesson="ID"`, a fragment (`#s=1....`, from
/// [`encode`]) becomes `link="#s=1...."`; anything else embeds nothing
/// (the element then says so).
pub fn element_snippet(page_url: &str, link: &str) -> String {
    let base = page_base(page_url);
    // The site's folder: the page's address up to its last `/`.
    let path_from = base.find("://").map_or(0, |i| i + 3);
    let dir = match base[path_from..].rfind('/') {
        Some(i) => base[..path_from + i + 1].to_string(),
        None => format!("{base}/"),
    };
    let q = link.trim_start_matches('?');
    let attr = if let Some(id) = q.strip_prefix("lesson=") {
        format!("lesson=\"{}\"", html_attr(&percent_decode(id)))
    } else if link.starts_with('#') {
        format!("link=\"{}\"", html_attr(link))
    } else {
        String::new()
    };
    format!(
        "<script type=\"module\" src=\"{}embed/tailsim-embed.js\"></script>\n\
         <tailsim-embed {attr}></tailsim-embed>",
        html_attr(&dir)
    )
}

/// The `<iframe>` that embeds the page in `?embed` mode, opening `link`:
/// a fragment (`#s=1....`, from [`encode`]) or a query (`?lesson=ID` or
/// `lesson=ID`); anything else embeds the plain sandbox.
pub fn embed_snippet(page_url: &str, link: &str) -> String {
    let base = page_base(page_url);
    let src = if link.starts_with('#') {
        format!("{base}?embed{link}")
    } else {
        let q = link.trim_start_matches('?');
        if q.is_empty() {
            format!("{base}?embed")
        } else {
            format!("{base}?embed&{q}")
        }
    };
    format!(
        "<iframe src=\"{}\" width=\"100%\" height=\"480\" style=\"border:0\" \
         loading=\"lazy\" title=\"tailsim: backend scalability sandbox\"></iframe>\n{RESIZE_SCRIPT}",
        html_attr(&src)
    )
}

/// The snippet's script: each embed posts its content height
/// (`{tailsim: "height", height}`), and its iframe takes that height, so
/// the post shows the whole embed with no inner scroll bar; an embed that
/// starts playing says so (`{tailsim: "playing"}`), and the others are
/// asked to pause (`{tailsim: "pause", at}`; one that started later than
/// `at` plays on): one plays at a time. One
/// listener per snippet; several on a page do the same thing.
pub const RESIZE_SCRIPT: &str = "<script>addEventListener(\"message\",function(e){var d=e.data;\
if(!d)return;var fs=document.querySelectorAll(\"iframe\");\
if(d.tailsim===\"height\"&&d.height>0)fs.forEach(function(f){\
if(f.contentWindow===e.source)f.style.height=Math.min(d.height,4000)+\"px\"});\
if(d.tailsim===\"playing\")fs.forEach(function(f){\
if(f.contentWindow!==e.source)f.contentWindow.postMessage({tailsim:\"pause\",at:d.at},\"*\")})})</script>";

#[cfg(test)]
mod tests {
    use super::*;

    const MM1: &str = "version = 1\nname = \"mm1\"\n[nodes.c]\nkind = \"source\"\ntarget = \"s\"\n\
        arrival = { process = \"poisson\", rate = 0.9 }\n[nodes.s]\nkind = \"service\"\n\
        workers = 1\nservice = { dist = \"exponential\", mean_s = 1.0 }\n";

    /// Made by this module's first version from
    /// `{"v":1,"scenario":MM1,"seed":42,"lesson":"THEORY-KNEE","state":"fix",
    /// "toggles":{"THEORY-KNEE":"mistake"},"view":{"panel":"why","speed":10.0}}`.
    /// Never regenerate it: it stands for links already out in the world.
    const V1_LINK: &str = "#s=1.VY9BS8UwEIT_StlzLa14MeCxIAgK4kWMSGjXGtpsQhLTJ6X_3U36ePBuyczwzewGCURXQxiQlNcWBCT0QVuqHqpOEimD_JJgTCdB0gfZEUMzfEqaNY3FCvbXD5jdqPyE8RDzX3mvk1pY2Crn7YAhFNNZHYIlCXXlVcwFbXNf7Rd8uMKjT_rgr9bPvO6YdtYLfNThqMWTs4QUtVoy3aCir5Jv2swHvhRxBHF3W8OCeQRf_PbYv7y-3zw9930ORJ7E6rc-8S_aaeIgiO0qJsBwpZoR9hqSxjUHnCJc2Fp__jLHlaaubdp9_wc";

    fn full() -> SharePayload {
        let mut p = SharePayload::new(MM1, 42);
        p.lesson = Some("THEORY-KNEE".into());
        p.state = Some(State::Fix);
        p.toggles.insert("THEORY-KNEE".into(), State::Mistake);
        p.view = Some(ShareView {
            panel: Some("why".into()),
            focus: None,
            speed: Some(10.0),
        });
        p
    }

    /// Packs arbitrary JSON the way `encode` does (to forge links).
    fn pack(json: &str) -> String {
        let packed = miniz_oxide::deflate::compress_to_vec(json.as_bytes(), 9);
        format!("#s=1.{}", B64.encode(packed))
    }

    #[test]
    fn round_trip() {
        let p = full();
        let f = encode(&p);
        assert!(f.starts_with("#s=1."), "{f}");
        assert!(
            f[5..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "not URL-safe: {f}"
        );
        assert_eq!(decode(&f).unwrap(), p);
        assert_eq!(decode(&f[1..]).unwrap(), p, "without the '#'");
        let min = SharePayload::new(MM1, 7);
        assert_eq!(decode(&encode(&min)).unwrap(), min);
    }

    #[test]
    fn a_committed_v1_link_still_opens() {
        let p = decode(V1_LINK).unwrap();
        assert_eq!(p, full());
    }

    #[test]
    fn old_links_without_newer_fields_and_links_with_unknown_fields_open() {
        let scenario = serde_json::to_string(MM1).unwrap();
        // only the fields every v1 link has: the rest defaults
        let p = decode(&pack(&format!(
            r#"{{"v":1,"scenario":{scenario},"seed":3}}"#
        )))
        .unwrap();
        assert_eq!(p, SharePayload::new(MM1, 3));
        // fields this build does not know (a later v1 build's) are ignored
        let p = decode(&pack(&format!(
            r#"{{"v":1,"scenario":{scenario},"seed":3,"charts":["x"],"view":{{"zoom":2,"panel":"why"}}}}"#
        )))
        .unwrap();
        assert_eq!(p.view.unwrap().panel.as_deref(), Some("why"));
    }

    #[test]
    fn hostile_links_get_distinct_errors_naming_the_part() {
        let err = |s: &str| decode(s).unwrap_err();
        assert!(matches!(err("#x=1.abc"), ShareError::BadPrefix(_)));
        assert!(matches!(err("#s=abc"), ShareError::BadPrefix(_)));
        assert!(matches!(err(""), ShareError::BadPrefix(_)));
        assert_eq!(err("#s=x.abc"), ShareError::BadVersion("x".into()));
        assert_eq!(err("#s=0.abc"), ShareError::BadVersion("0".into()));
        let newer = err("#s=2.abc");
        assert_eq!(newer, ShareError::NewerVersion(2));
        assert!(
            newer.to_string().contains("made by a newer tailsim"),
            "{newer}"
        );
        // a format number inside the payload that is newer says the same
        let scenario = serde_json::to_string(MM1).unwrap();
        assert_eq!(
            err(&pack(&format!(
                r#"{{"v":3,"scenario":{scenario},"seed":1}}"#
            ))),
            ShareError::NewerVersion(3)
        );
        let e = err("#s=1.not*base64!");
        assert!(matches!(e, ShareError::Base64(_)), "{e:?}");
        assert!(e.to_string().contains("base64url"), "{e}");
        // valid base64 of bytes that are not a deflate stream
        let e = err(&format!("#s=1.{}", B64.encode([0xffu8; 24])));
        assert!(matches!(e, ShareError::Deflate(_)), "{e:?}");
        // a link cut short: mid-symbol it is bad base64, else the deflate
        // stream ends early
        let cut = &V1_LINK[..V1_LINK.len() - 21];
        assert!(matches!(err(cut), ShareError::Base64(_)), "{:?}", err(cut));
        let bytes = B64.decode(&V1_LINK[5..]).unwrap();
        let cut = format!("#s=1.{}", B64.encode(&bytes[..bytes.len() - 20]));
        assert!(
            matches!(err(&cut), ShareError::Deflate(_)),
            "{:?}",
            err(&cut)
        );
        // a bomb: 64 MB of zeros packs into ~64 kB of link; it is stopped at
        // the cap without inflating the rest
        let bomb = miniz_oxide::deflate::compress_to_vec(&vec![b'0'; 64 << 20], 9);
        assert!(bomb.len() < 200_000);
        let e = err(&format!("#s=1.{}", B64.encode(&bomb)));
        assert_eq!(
            e,
            ShareError::TooLarge {
                limit: MAX_INFLATED
            }
        );
        // not JSON; JSON of the wrong shape, naming the field
        let e = err(&pack("hello"));
        assert!(matches!(e, ShareError::Json { .. }), "{e:?}");
        let e = err(&pack(r#"{"v":1,"scenario":"x","seed":"seven"}"#));
        match &e {
            ShareError::Json { path, .. } => assert_eq!(path, "seed"),
            other => panic!("{other:?}"),
        }
        assert!(e.to_string().contains("`seed`"), "{e}");
        let e = err(&pack(r#"{"v":1,"seed":1}"#));
        assert!(e.to_string().contains("scenario"), "{e}");
        // a scenario that does not build, naming its field
        let bad = serde_json::to_string(&MM1.replace("workers = 1", "workers = 0")).unwrap();
        let e = err(&pack(&format!(r#"{{"v":1,"scenario":{bad},"seed":1}}"#)));
        match &e {
            ShareError::Scenario { path, .. } => assert!(path.contains("workers"), "{e}"),
            other => panic!("{other:?}"),
        }
        assert!(
            e.to_string().starts_with("share link: scenario field"),
            "{e}"
        );
        let e = err(&pack(r#"{"v":1,"scenario":"[[[","seed":1}"#));
        assert!(matches!(e, ShareError::Scenario { .. }), "{e:?}");
    }

    #[test]
    fn routes() {
        let r = parse_route("https://x.io/tailsim/");
        assert_eq!(
            r,
            PageRoute {
                embed: false,
                route: Route::Sandbox
            }
        );
        let r = parse_route("https://x.io/tailsim/?lesson=DATA-N%2B1");
        assert_eq!(r.route, Route::Lesson("DATA-N+1".into()));
        // a raw '+' stays a '+'
        let r = parse_route("https://x.io/?embed&lesson=DATA-N+1");
        assert_eq!(
            r,
            PageRoute {
                embed: true,
                route: Route::Lesson("DATA-N+1".into())
            }
        );
        let link = encode(&full());
        let r = parse_route(&format!("https://x.io/?embed{link}"));
        assert!(r.embed);
        assert_eq!(r.route, Route::Shared(full()));
        // the share link wins over ?lesson
        let r = parse_route(&format!("https://x.io/?lesson=CACHE-NONE{link}"));
        assert_eq!(r.route, Route::Shared(full()));
        let r = parse_route("https://x.io/#s=9.abc");
        assert_eq!(r.route, Route::BadLink(ShareError::NewerVersion(9)));
        assert!(!parse_route("/?embed=0").embed);
        // other fragments (anchors) are not share links
        assert_eq!(parse_route("/#top").route, Route::Sandbox);
        assert_eq!(
            parse_route("?lesson=%zz").route,
            Route::Lesson("%zz".into())
        );
    }

    #[test]
    fn links_and_embed_snippets() {
        let page = "https://x.io/tailsim/index.html?lesson=OLD#s=1.old";
        assert_eq!(
            lesson_link(page, "DATA-N+1"),
            "https://x.io/tailsim/index.html?lesson=DATA-N%2B1"
        );
        let p = full();
        let l = share_link(page, &p);
        assert_eq!(parse_route(&l).route, Route::Shared(p.clone()));
        let frag = encode(&p);
        let s = embed_snippet(page, &frag);
        assert!(
            s.starts_with(&format!(
                "<iframe src=\"https://x.io/tailsim/index.html?embed{frag}\" width=\"100%\" height=\"480\""
            )),
            "{s}"
        );
        assert!(s.contains("></iframe>") && s.contains("title=\""), "{s}");
        assert!(s.ends_with(RESIZE_SCRIPT), "{s}");
        let s = embed_snippet(page, "?lesson=DATA-N%2B1");
        assert!(
            s.contains("src=\"https://x.io/tailsim/index.html?embed&amp;lesson=DATA-N%2B1\""),
            "{s}"
        );
        // the src it makes routes back to the same state
        let src = s.split('"').nth(1).unwrap().replace("&amp;", "&");
        assert_eq!(
            parse_route(&src),
            PageRoute {
                embed: true,
                route: Route::Lesson("DATA-N+1".into())
            }
        );
        // quotes cannot break out of the attribute
        let s = embed_snippet("https://x.io/\"><script>", "");
        assert!(!s.contains("\"><script>"), "{s}");
    }

    #[test]
    fn element_snippets_load_the_light_embed_from_the_site_folder() {
        let page = "https://x.io/tailsim/index.html?lesson=OLD#s=1.old";
        let s = element_snippet(page, "?lesson=DATA-N%2B1");
        assert_eq!(
            s,
            "<script type=\"module\" src=\"https://x.io/tailsim/embed/tailsim-embed.js\"></script>\n\
             <tailsim-embed lesson=\"DATA-N+1\"></tailsim-embed>"
        );
        let frag = encode(&full());
        let s = element_snippet("http://127.0.0.1:8080/", &frag);
        assert!(
            s.starts_with("<script type=\"module\" src=\"http://127.0.0.1:8080/embed/"),
            "{s}"
        );
        assert!(
            s.ends_with(&format!("<tailsim-embed link=\"{frag}\"></tailsim-embed>")),
            "{s}"
        );
        // a site at the host's root, written without its slash
        let s = element_snippet("https://x.io", "?lesson=A");
        assert!(
            s.contains("src=\"https://x.io/embed/tailsim-embed.js\""),
            "{s}"
        );
        let s = element_snippet("https://x.io/", "?lesson=\"><script>");
        assert!(!s.contains("\"><script>"), "{s}");
    }
}
