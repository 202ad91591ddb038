//! Same-instant work must fit a browser's stack (about 1 MiB for wasm), not
//! only a native thread's 8 MiB: PLUS-DEADLINES drops thousands of expired
//! requests at one instant during its overload, and each drop handed the
//! worker to the next on the stack, so the page's engine worker overflowed
//! ("the simulation engine stopped answering") while the native runs were
//! fine. Both of its states run here to their end in the browser.
#![cfg(target_arch = "wasm32")]

use sim_core::lesson::State;
use sim_core::Sim;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn plus_deadlines_runs_to_its_end_in_the_browser() {
    let l = web::lessons::find("PLUS-DEADLINES").unwrap();
    for st in [State::Mistake, State::Fix] {
        let sc = web::lessons::scenario(l, st).unwrap();
        let r = Sim::new(&sc, 1).unwrap().run_for(sc.duration_s).unwrap();
        assert!(r.conservation.ok, "{st:?}");
        assert!(r.sim_time_s >= sc.duration_s, "{st:?}: {}", r.sim_time_s);
    }
}
