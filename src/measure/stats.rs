//! Control against exposed (R-M3): for one metric per visitor (converted or not; value per
//! visitor), the difference between visitors held out by a control group and exposed visitors
//! of the same population, as GrowthBook's frequentist engine computes it (docs/measurement.md
//! gives the formulas):
//!
//! * the relative lift `(mean_e - mean_c) / |mean_c|`, its standard error by the delta method,
//!   a two-sided Welch t-test (Welch-Satterthwaite degrees of freedom) for the fixed-horizon
//!   p-value and 95 % interval;
//! * an always-valid (sequential) 95 % interval and p-value for the same lift (the normal
//!   mixture confidence sequence of Waudby-Smith et al., GrowthBook's tuning parameter 5,000),
//!   which may be read every day without overstating significance;
//! * incremental conversions: what the exposed visitors did beyond the control rate.
//!
//! Pure arithmetic: no I/O, no clock. The t distribution is computed here (regularised
//! incomplete beta), checked against scipy in `tests/stats.rs`.

use serde::Serialize;

/// Confidence level of every interval: 95 %.
pub const ALPHA: f64 = 0.05;
/// GrowthBook's default sequential tuning parameter (the sample size the confidence sequence
/// is tightest at).
pub const SEQUENTIAL_TUNING: f64 = 5_000.0;

/// One arm's sufficient statistics for a per-visitor metric: visitors, the sum of the metric
/// and the sum of its squares (for a 0/1 conversion, the sum of squares is the sum).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Arm {
    /// Visitors.
    pub n: u64,
    /// Sum of the metric.
    pub sum: f64,
    /// Sum of its squares.
    pub sum_squares: f64,
}

impl Arm {
    /// A 0/1 metric: `converted` of `n` visitors.
    pub fn proportion(n: u64, converted: u64) -> Arm {
        Arm {
            n,
            sum: converted as f64,
            sum_squares: converted as f64,
        }
    }

    /// The mean per visitor.
    pub fn mean(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            self.sum / self.n as f64
        }
    }

    /// The sample variance (denominator `n - 1`), never negative.
    pub fn variance(&self) -> f64 {
        if self.n < 2 {
            return 0.0;
        }
        let n = self.n as f64;
        ((self.sum_squares - self.sum * self.sum / n) / (n - 1.0)).max(0.0)
    }
}

/// Why two arms cannot be compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotComparable {
    /// An arm has fewer than 2 visitors.
    TooFewVisitors,
    /// The control mean is 0: a relative lift is undefined.
    ZeroControl,
    /// Both arms have no variance (every visitor the same).
    NoVariance,
}

/// The comparison of one metric between control and exposed visitors (R-M3).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Comparison {
    /// Visitors held out (control).
    pub control_n: u64,
    /// Visitors exposed.
    pub exposed_n: u64,
    /// The control mean per visitor (conversion rate, or value per visitor).
    pub control_mean: f64,
    /// The exposed mean per visitor.
    pub exposed_mean: f64,
    /// Beyond what the exposed visitors would have done at the control rate:
    /// `(mean_e - mean_c) × n_e`.
    pub incremental: f64,
    /// Relative lift `(mean_e - mean_c) / |mean_c|`.
    pub lift: f64,
    /// Its standard error (delta method).
    pub standard_error: f64,
    /// Welch-Satterthwaite degrees of freedom.
    pub degrees_of_freedom: f64,
    /// Fixed-horizon 95 % interval of the lift: valid for one look at a date fixed in advance.
    pub ci: (f64, f64),
    /// Fixed-horizon two-sided p-value (no lift).
    pub p_value: f64,
    /// Always-valid 95 % interval of the lift: valid however often the report is read.
    pub sequential_ci: (f64, f64),
    /// Always-valid p-value.
    pub sequential_p_value: f64,
}

/// R-M3: compares `exposed` against `control` for one metric.
pub fn compare(control: &Arm, exposed: &Arm) -> Result<Comparison, NotComparable> {
    if control.n < 2 || exposed.n < 2 {
        return Err(NotComparable::TooFewVisitors);
    }
    let (ma, mb) = (control.mean(), exposed.mean());
    if ma == 0.0 {
        return Err(NotComparable::ZeroControl);
    }
    let (na, nb) = (control.n as f64, exposed.n as f64);
    let (va, vb) = (control.variance(), exposed.variance());
    // Delta method for the ratio of two independent means (GrowthBook's variance_of_ratios).
    let variance = vb / nb / (ma * ma) + va / na * (mb * mb) / (ma * ma * ma * ma);
    if variance.is_nan() || variance <= 0.0 || variance.is_infinite() {
        return Err(NotComparable::NoVariance);
    }
    let se = variance.sqrt();
    let lift = (mb - ma) / ma.abs();
    let (sa, sb) = (va / na, vb / nb);
    let dof =
        (sa + sb).powi(2) / (vb * vb / (nb * nb * (nb - 1.0)) + va * va / (na * na * (na - 1.0)));
    let dof = if dof.is_finite() && dof > 0.0 {
        dof
    } else {
        na + nb - 2.0
    };
    let t = lift / se;
    let p_value = (2.0 * (1.0 - student_t_cdf(t.abs(), dof))).clamp(0.0, 1.0);
    let half = student_t_quantile(1.0 - ALPHA / 2.0, dof) * se;
    let n = na + nb;
    let (sequential_half, sequential_p_value) = sequential(lift, se, n);
    Ok(Comparison {
        control_n: control.n,
        exposed_n: exposed.n,
        control_mean: ma,
        exposed_mean: mb,
        incremental: (mb - ma) * nb,
        lift,
        standard_error: se,
        degrees_of_freedom: dof,
        ci: (lift - half, lift + half),
        p_value,
        sequential_ci: (lift - sequential_half, lift + sequential_half),
        sequential_p_value,
    })
}

/// The always-valid interval's half-width and p-value for an estimate with standard error
/// `se` from `n` visitors (Waudby-Smith et al. 2023, eq. 9 and 155; GrowthBook's
/// `SequentialTwoSidedTTest`).
fn sequential(estimate: f64, se: f64, n: f64) -> (f64, f64) {
    let l = -2.0 * ALPHA.ln();
    let rho2 = (l + (l + 1.0).ln()) / SEQUENTIAL_TUNING;
    let s2 = se * se * n;
    let nr2 = n * rho2;
    // (n ρ)² = n · nρ².
    let half = (s2 * 2.0 * (nr2 + 1.0) * ((nr2 + 1.0).sqrt() / ALPHA).ln() / (n * nr2)).sqrt();
    let st2 = estimate * estimate * n / (se * se);
    let e_value = (rho2 * st2 / (2.0 * (nr2 + 1.0))).exp() / (nr2 + 1.0).sqrt();
    (half, (1.0 / e_value).min(1.0))
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9: about 15 significant digits).
fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection.
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = G[0];
    let t = x + 7.5;
    for (i, g) in G.iter().enumerate().skip(1) {
        a += g / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// The continued fraction of the incomplete beta function (modified Lentz).
fn beta_fraction(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..=300 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// The regularised incomplete beta function I_x(a, b), given x and y = 1 - x (each computed
/// by the caller without cancellation).
fn incomplete_beta(a: f64, b: f64, x: f64, y: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if y <= 0.0 {
        return 1.0;
    }
    let front = (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * y.ln()).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_fraction(a, b, x) / a
    } else {
        1.0 - front * beta_fraction(b, a, y) / b
    }
}

/// The cumulative distribution of Student's t with `dof` degrees of freedom.
pub fn student_t_cdf(t: f64, dof: f64) -> f64 {
    let (x, y) = (dof / (dof + t * t), t * t / (dof + t * t));
    let tail = 0.5 * incomplete_beta(dof / 2.0, 0.5, x, y);
    if t >= 0.0 {
        1.0 - tail
    } else {
        tail
    }
}

/// The quantile of Student's t: the `t` with `student_t_cdf(t, dof) == p` (bisection to
/// machine precision; 0 < p < 1).
pub fn student_t_quantile(p: f64, dof: f64) -> f64 {
    let (mut lo, mut hi) = (-1e3, 1e3);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if student_t_cdf(mid, dof) < p {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-13 {
            break;
        }
    }
    0.5 * (lo + hi)
}

/// One arm as the report shows it: visitors and the mean per visitor.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArmShown {
    /// Visitors.
    pub visitors: u64,
    /// Mean per visitor (conversion rate, or value per visitor).
    pub mean: f64,
}

/// One line of the report's control-against-exposed table (R-M3): a campaign (or the account,
/// `campaign` empty), one metric per visitor, both arms, and the comparison or why there is
/// none. `decideWith` names the figures a decision should use: the always-valid ones, since the
/// report is read as data comes in.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ControlVsExposed {
    /// Campaign id, or empty for the account.
    pub campaign: String,
    /// The goal whose conversions count (the campaign's), or empty for any (the account).
    pub goal: String,
    /// `conversion_rate` or `value_per_visitor`.
    pub metric: &'static str,
    /// The currency of `value_per_visitor`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Held-out visitors.
    pub control: ArmShown,
    /// Exposed visitors.
    pub exposed: ArmShown,
    /// The comparison.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Comparison>,
    /// Why there is no comparison.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_comparable: Option<NotComparable>,
    /// `sequential`: decide on `sequentialCi` / `sequentialPValue`.
    pub decide_with: &'static str,
}

impl ControlVsExposed {
    /// R-M3: compares the two arms of `campaign` for `metric`.
    pub fn new(
        campaign: &str,
        goal: &str,
        metric: &'static str,
        currency: Option<&str>,
        control: Arm,
        exposed: Arm,
    ) -> ControlVsExposed {
        let shown = |a: &Arm| ArmShown {
            visitors: a.n,
            mean: a.mean(),
        };
        let (result, not_comparable) = match compare(&control, &exposed) {
            Ok(c) => (Some(c), None),
            Err(e) => (None, Some(e)),
        };
        ControlVsExposed {
            campaign: campaign.to_string(),
            goal: goal.to_string(),
            metric,
            currency: currency.map(str::to_string),
            control: shown(&control),
            exposed: shown(&exposed),
            result,
            not_comparable,
            decide_with: "sequential",
        }
    }
}
