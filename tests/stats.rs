//! R-M3: the control-against-exposed statistics checked against scipy. The figures in
//! fixtures/stats_reference.json are computed by scripts/stats_reference.py with numpy and
//! scipy on generated visitors (`bash scripts/test.sh` regenerates them and fails if they
//! differ from the committed file); every engine figure must match to 1e-8 relative.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use edge_engage::measure::stats::{
    compare, student_t_cdf, student_t_quantile, Arm, NotComparable, ALPHA, SEQUENTIAL_TUNING,
};
use serde_json::Value;

fn close(got: f64, want: f64, what: &str) {
    let tolerance = 1e-8 * want.abs().max(1e-4);
    assert!(
        (got - want).abs() <= tolerance,
        "{what}: got {got}, scipy {want}"
    );
}

fn arm(v: &Value) -> Arm {
    Arm {
        n: v["n"].as_u64().unwrap(),
        sum: v["sum"].as_f64().unwrap(),
        sum_squares: v["sumSquares"].as_f64().unwrap(),
    }
}

fn reference() -> Value {
    serde_json::from_str(&common::fixture("stats_reference.json")).unwrap()
}

#[test]
fn r_m3_lift_interval_and_p_values_match_scipy() {
    let doc = reference();
    assert_eq!(doc["alpha"].as_f64(), Some(ALPHA));
    assert_eq!(doc["sequentialTuning"].as_f64(), Some(SEQUENTIAL_TUNING));
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 7);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let c = compare(&arm(&case["control"]), &arm(&case["exposed"])).unwrap();
        let e = &case["expect"];
        let f = |k: &str| e[k].as_f64().unwrap();
        close(
            c.control_mean,
            f("controlMean"),
            &format!("{name}: control mean"),
        );
        close(
            c.exposed_mean,
            f("exposedMean"),
            &format!("{name}: exposed mean"),
        );
        close(
            c.incremental,
            f("incremental"),
            &format!("{name}: incremental"),
        );
        close(c.lift, f("lift"), &format!("{name}: lift"));
        close(
            c.standard_error,
            f("standardError"),
            &format!("{name}: standard error"),
        );
        close(
            c.degrees_of_freedom,
            f("degreesOfFreedom"),
            &format!("{name}: dof"),
        );
        close(c.p_value, f("pValue"), &format!("{name}: p-value"));
        close(
            c.ci.0,
            e["ci"][0].as_f64().unwrap(),
            &format!("{name}: ci low"),
        );
        close(
            c.ci.1,
            e["ci"][1].as_f64().unwrap(),
            &format!("{name}: ci high"),
        );
        close(
            c.sequential_ci.0,
            e["sequentialCi"][0].as_f64().unwrap(),
            &format!("{name}: seq low"),
        );
        close(
            c.sequential_ci.1,
            e["sequentialCi"][1].as_f64().unwrap(),
            &format!("{name}: seq high"),
        );
        close(
            c.sequential_p_value,
            f("sequentialPValue"),
            &format!("{name}: seq p"),
        );
        // The always-valid interval is never narrower than the fixed-horizon one.
        assert!(
            c.sequential_ci.0 <= c.ci.0 && c.sequential_ci.1 >= c.ci.1,
            "{name}"
        );
    }
}

#[test]
fn r_m3_student_t_matches_scipy() {
    for p in reference()["t"].as_array().unwrap() {
        let dof = p["dof"].as_f64().unwrap();
        if let Some(t) = p["t"].as_f64() {
            close(
                student_t_cdf(t, dof),
                p["cdf"].as_f64().unwrap(),
                &format!("cdf({t}, {dof})"),
            );
        } else {
            let q = p["p"].as_f64().unwrap();
            close(
                student_t_quantile(q, dof),
                p["quantile"].as_f64().unwrap(),
                &format!("quantile({q}, {dof})"),
            );
        }
    }
}

/// R-M3: what cannot be compared says why instead of answering a number.
#[test]
fn r_m3_incomparable_arms_are_named() {
    let some = Arm::proportion(1_000, 30);
    assert_eq!(
        compare(&Arm::proportion(1, 1), &some),
        Err(NotComparable::TooFewVisitors)
    );
    assert_eq!(
        compare(&Arm::proportion(500, 0), &some),
        Err(NotComparable::ZeroControl)
    );
    let flat = Arm {
        n: 10,
        sum: 50.0,
        sum_squares: 250.0,
    };
    assert_eq!(compare(&flat, &flat), Err(NotComparable::NoVariance));
}
