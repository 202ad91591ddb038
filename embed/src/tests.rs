use super::*;

const N1: &str = include_str!("../../assets/lessons/DATA-N+1.toml");
const N1_FILE: &str = include_str!("../../assets/scenarios/catalogue/DATA-N+1.toml");
const MM1: &str = "version = 1\nname = \"mm1\"\nduration_s = 60\n[nodes.c]\nkind = \"source\"\n\
    target = \"s\"\narrival = { process = \"poisson\", rate = 9 }\n[nodes.s]\nkind = \"service\"\n\
    workers = 1\nservice = { dist = \"exponential\", mean_s = 0.1 }\n";

#[test]
fn a_lesson_face_carries_what_the_embed_asks() {
    let f = lesson_face(N1).unwrap();
    assert_eq!(f.id, "DATA-N+1");
    assert_eq!(f.title, "N+1 queries");
    assert!(f.question.contains("p99"), "{}", f.question);
    assert_eq!(f.scenario_file.as_deref(), Some("catalogue/DATA-N+1.toml"));
    let p = f.predict.unwrap();
    assert_eq!((p.state, p.unit.as_str()), (State::Mistake, "ms"));
    assert!(!f.lead.contains("\n\n"));
}

#[test]
fn the_embed_answers_what_the_lesson_check_computes() {
    // The embed runs the lesson's own scenario (its run length and warm-up),
    // so the predicted metric at the end is the CLI's for the same seed.
    let mut run = Run::lesson(N1, Some(N1_FILE), "mistake", Some(7)).unwrap();
    while !run.advance(1e9, 20_000).unwrap() {}
    let l = Lesson::from_toml_str(N1).unwrap();
    let sc = l.scenario(State::Mistake, Some(N1_FILE)).unwrap();
    let mut sim = Sim::new(&sc, 7).unwrap();
    sim.run_until(sim_core::secs_to_ns(sc.duration_s)).unwrap();
    let metric = &l.predict.unwrap().metric;
    let direct = sim_core::lesson::eval_metric(metric, &sim.report()).unwrap();
    assert_eq!(run.metric(metric).unwrap(), direct);
    assert_eq!(run.title(), "N+1 queries");
    assert_eq!(run.now_s(), sc.duration_s);
}

#[test]
fn slices_of_work_give_the_run_in_one_go() {
    // The element advances a bounded slice per frame; the slicing must not
    // change a single number.
    let mut sliced = Run::scenario(MM1, Some(3)).unwrap();
    let mut steps = 0;
    while !sliced.advance(60.0, 50).unwrap() {
        steps += 1;
    }
    assert!(steps > 10, "50 units of work a slice: {steps} slices");
    let mut whole = Run::scenario(MM1, Some(3)).unwrap();
    assert!(whole.advance(1e9, u64::MAX).unwrap());
    assert_eq!(sliced.sim.report().to_json(), whole.sim.report().to_json());
}

#[test]
fn the_chart_draws_a_p99_only_from_enough_answers() {
    // 9 answers a second in 1 s windows: a window's own p99 would be its
    // maximum. 100 answers take 12 windows, so the first 11 have no p99,
    // and the chart says it pooled 12; p50 (one answer suffices) is drawn
    // from the first window on.
    let mut run = Run::scenario(MM1, Some(1)).unwrap();
    run.advance(60.0, u64::MAX).unwrap();
    let c = run.chart();
    assert_eq!(c.t.len(), c.p99.len());
    assert!(c.t.len() >= 59, "{}", c.t.len());
    assert!(c.p99[..8].iter().all(Option::is_none), "{:?}", &c.p99[..12]);
    assert!(c.p99[20..].iter().all(Option::is_some));
    assert!(c.pooled >= 11, "{}", c.pooled);
    assert!(c.p50.iter().filter(|p| p.is_some()).count() >= 55);
    for i in 20..c.t.len() {
        assert!(c.p95[i].unwrap() <= c.p99[i].unwrap() + 1e-12);
    }
}

#[test]
fn bad_input_names_the_field() {
    let e = Run::scenario(
        "version = 1\nname = \"x\"\n[nodes.s]\nkind = \"service\"\nworkers = -3\n",
        None,
    )
    .err()
    .unwrap();
    assert!(e.starts_with("scenario: nodes.s"), "{e}");
    let e = Run::lesson(N1, Some(N1_FILE), "both", None).err().unwrap();
    assert!(e.starts_with("state:"), "{e}");
    let e = Run::lesson(N1, None, "fix", None).err().unwrap();
    assert!(e.contains("DATA-N+1"), "{e}");
    let e = lesson_face("id = 3").err().unwrap();
    assert!(e.starts_with("lesson: "), "{e}");
    let run = Run::scenario(MM1, None).unwrap();
    let e = run.metric("end_to_end.nope").err().unwrap();
    assert!(e.starts_with("metric: "), "{e}");
}
