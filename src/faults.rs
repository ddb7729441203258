//! Faults a test injects into the running worker, so that tests prove what happens when a part
//! fails, is slow or restarts (docs/api.md, "Test faults"). A root-authenticated request names
//! them in `X-Test-Fault`, comma-separated; the worker forwards the ones an object acts on in the
//! same header. Only builds with the cargo feature `test-faults` read the header or know the
//! names: in every other build [`Faults`] is always empty, so a deploy build has no way in and
//! holds none of the names.

/// One fault, by what it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `visit`: the visit's object throws (the decision's fail-safe, R-D6).
    VisitThrows,
    /// `consumer`, on a decision: the measurement consumer retries its facts once after
    /// committing them (R-M4).
    ConsumerRetry,
    /// `queue`, on a decision: the queue refuses its facts once (R-M4).
    QueueRefuses,
    /// `hold-send`, on a decision: the visit's alarm holds the send of its facts until a
    /// request of the visit has added facts (R-M4).
    HoldSend,
    /// `new-isolate`: the request ignores its isolate's own view of the account (R-P2).
    NewIsolate,
    /// `account-object`: the account's object cannot be reached (R-P2).
    AccountObjectUnreachable,
    /// `click-shard-N`: the click is added to shard N, as another isolate's would be.
    ClickShard(u8),
    /// `{land|record}-{late|lost|refused-once|answer-lost}`: what happens to a hand-off sent
    /// to the visit after the answer.
    Handoff(HandoffOf, HandoffFault),
}

/// A message the worker sends a visit's object after its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandoffOf {
    /// `land`: an offsite click's landing visit (R-O2).
    Land,
    /// `record`: a decision made without the visit's object (the carried record).
    Record,
}

/// What goes wrong with a hand-off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandoffFault {
    /// `late`: sent 400 ms after the answer.
    Late,
    /// `lost`: never sent.
    Lost,
    /// `refused-once`: the object fails the first attempt before it writes anything.
    RefusedOnce,
    /// `answer-lost`: the object writes on the first attempt, then answers 503.
    AnswerLost,
}

/// The faults a request names: always empty without the `test-faults` feature.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults {
    #[cfg(feature = "test-faults")]
    named: Vec<Fault>,
}

impl Faults {
    /// True when `fault` is named.
    pub fn has(&self, fault: Fault) -> bool {
        #[cfg(feature = "test-faults")]
        return self.named.contains(&fault);
        #[cfg(not(feature = "test-faults"))]
        {
            let _ = fault;
            false
        }
    }

    /// The first named fault `pick` maps to something.
    pub fn find<T>(&self, pick: impl Fn(Fault) -> Option<T>) -> Option<T> {
        #[cfg(feature = "test-faults")]
        return self.named.iter().copied().find_map(pick);
        #[cfg(not(feature = "test-faults"))]
        {
            let _ = pick;
            None
        }
    }

    /// What a hand-off of `kind` is to suffer, if anything.
    pub fn handoff(&self, kind: HandoffOf) -> Option<HandoffFault> {
        self.find(|f| match f {
            Fault::Handoff(k, what) if k == kind => Some(what),
            _ => None,
        })
    }

    /// The faults named in `X-Test-Fault`'s value; names not known are ignored.
    #[cfg(feature = "test-faults")]
    pub fn parse(value: &str) -> Faults {
        Faults {
            named: value.split(',').filter_map(Fault::parse).collect(),
        }
    }

    /// These faults, as the value of `X-Test-Fault` forwarded to an object; `None` for none.
    pub fn header(&self) -> Option<String> {
        #[cfg(feature = "test-faults")]
        if !self.named.is_empty() {
            let names: Vec<String> = self.named.iter().map(|f| f.name()).collect();
            return Some(names.join(","));
        }
        None
    }
}

impl From<Fault> for Faults {
    /// One fault alone (nothing in builds without `test-faults`).
    fn from(fault: Fault) -> Faults {
        #[cfg(feature = "test-faults")]
        return Faults { named: vec![fault] };
        #[cfg(not(feature = "test-faults"))]
        {
            let _ = fault;
            Faults::default()
        }
    }
}

#[cfg(feature = "test-faults")]
impl Fault {
    /// The fault a name names.
    pub fn parse(name: &str) -> Option<Fault> {
        let name = name.trim();
        Some(match name {
            "visit" => Fault::VisitThrows,
            "consumer" => Fault::ConsumerRetry,
            "queue" => Fault::QueueRefuses,
            "hold-send" => Fault::HoldSend,
            "new-isolate" => Fault::NewIsolate,
            "account-object" => Fault::AccountObjectUnreachable,
            _ => {
                if let Some(n) = name.strip_prefix("click-shard-") {
                    return n.parse().ok().map(Fault::ClickShard);
                }
                let (kind, what) = name.split_once('-')?;
                let kind = match kind {
                    "land" => HandoffOf::Land,
                    "record" => HandoffOf::Record,
                    _ => return None,
                };
                let what = match what {
                    "late" => HandoffFault::Late,
                    "lost" => HandoffFault::Lost,
                    "refused-once" => HandoffFault::RefusedOnce,
                    "answer-lost" => HandoffFault::AnswerLost,
                    _ => return None,
                };
                Fault::Handoff(kind, what)
            }
        })
    }

    /// Its name in `X-Test-Fault`.
    pub fn name(self) -> String {
        match self {
            Fault::VisitThrows => "visit".into(),
            Fault::ConsumerRetry => "consumer".into(),
            Fault::QueueRefuses => "queue".into(),
            Fault::HoldSend => "hold-send".into(),
            Fault::NewIsolate => "new-isolate".into(),
            Fault::AccountObjectUnreachable => "account-object".into(),
            Fault::ClickShard(n) => format!("click-shard-{n}"),
            Fault::Handoff(kind, what) => {
                let kind = match kind {
                    HandoffOf::Land => "land",
                    HandoffOf::Record => "record",
                };
                let what = match what {
                    HandoffFault::Late => "late",
                    HandoffFault::Lost => "lost",
                    HandoffFault::RefusedOnce => "refused-once",
                    HandoffFault::AnswerLost => "answer-lost",
                };
                format!("{kind}-{what}")
            }
        }
    }
}

/// Stored and carried by its name (a fact batch's mark, R-M4's tests).
#[cfg(feature = "test-faults")]
impl serde::Serialize for Fault {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

#[cfg(feature = "test-faults")]
impl<'de> serde::Deserialize<'de> for Fault {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Fault, D::Error> {
        let name = String::deserialize(d)?;
        Fault::parse(&name).ok_or_else(|| serde::de::Error::custom("not a fault"))
    }
}

#[cfg(all(test, feature = "test-faults"))]
mod tests {
    use super::*;

    #[test]
    fn every_fault_reads_back_from_its_name() {
        let mut all = vec![
            Fault::VisitThrows,
            Fault::ConsumerRetry,
            Fault::QueueRefuses,
            Fault::HoldSend,
            Fault::NewIsolate,
            Fault::AccountObjectUnreachable,
            Fault::ClickShard(0),
            Fault::ClickShard(7),
        ];
        for kind in [HandoffOf::Land, HandoffOf::Record] {
            for what in [
                HandoffFault::Late,
                HandoffFault::Lost,
                HandoffFault::RefusedOnce,
                HandoffFault::AnswerLost,
            ] {
                all.push(Fault::Handoff(kind, what));
            }
        }
        for f in &all {
            assert_eq!(Fault::parse(&f.name()), Some(*f), "{}", f.name());
        }
        let header = Faults { named: all.clone() }.header().unwrap_or_default();
        assert_eq!(Faults::parse(&header), Faults { named: all });
    }

    #[test]
    fn a_header_names_faults_comma_separated_and_unknown_names_are_ignored() {
        let f = Faults::parse(" queue, nope ,land-late,click-shard-x,record-answer-lost");
        assert!(f.has(Fault::QueueRefuses));
        assert!(!f.has(Fault::VisitThrows));
        assert_eq!(f.handoff(HandoffOf::Land), Some(HandoffFault::Late));
        assert_eq!(f.handoff(HandoffOf::Record), Some(HandoffFault::AnswerLost));
        assert_eq!(
            f.header().as_deref(),
            Some("queue,land-late,record-answer-lost")
        );
        assert_eq!(Faults::parse("").header(), None);
    }
}
