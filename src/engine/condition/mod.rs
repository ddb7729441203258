//! GrowthBook's condition language (R-D1), compiled once per snapshot and evaluated per request.
//!
//! Semantics follow the GrowthBook SDK specification (including its JavaScript value coercions),
//! checked by every `evalCondition` case in `fixtures/conformance/growthbook-cases.json`.
//! Compiling never fails: anything malformed becomes a node that evaluates to `false`, as the
//! reference SDKs do, and is also reported as a [`ConditionProblem`] so that publishing can refuse it.

use super::lookup::once;
use regex_lite::{Regex, RegexBuilder};
use serde_json::{Map, Value};
use std::cmp::Ordering;
use std::collections::HashMap;

mod js;
use js::{js_compare, js_number, js_string, padded_version, truthy, type_name};

/// Named value lists that `$inGroup` / `$notInGroup` refer to.
pub type SavedGroups = HashMap<String, Vec<Value>>;

/// Something in a condition that can never be true as written (unknown operator, bad regex, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionProblem {
    /// Dotted location inside the condition, e.g. `$and[1].country.$in`.
    pub at: String,
    /// What is wrong there.
    pub message: String,
}

/// A compiled condition: every entry of a condition object must hold.
#[derive(Debug, Clone)]
pub struct Condition {
    clauses: Vec<Clause>,
    /// The snapshot-wide number of this condition among identical ones (see
    /// [`Condition::with_slot`]), so a request can evaluate each distinct condition once.
    slot: Option<usize>,
}

#[derive(Debug, Clone)]
enum Clause {
    Or(Vec<Condition>),
    Nor(Vec<Condition>),
    And(Vec<Condition>),
    Not(Box<Condition>),
    /// A value at `path` in the attributes; `slot` numbers the path snapshot-wide
    /// ([`Condition::number_paths`]).
    Path {
        path: Vec<String>,
        slot: Option<usize>,
        test: ValueTest,
    },
    Never,
}

#[derive(Debug, Clone)]
enum ValueTest {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
    Deep(Value),
    Ops(Vec<Op>),
}

#[derive(Debug, Clone)]
enum Op {
    Version(Ordering, bool, String),
    Eq(Value),
    Ne(Value),
    Cmp(Ordering, bool, Value),
    Exists(bool),
    In(Vec<Value>, bool),
    Nin(Vec<Value>, bool),
    InGroup(String, bool),
    Not(Box<ValueTest>),
    Size(Box<ValueTest>),
    ElemMatch(Box<Elem>),
    All(Vec<ValueTest>),
    AllI(Vec<Value>),
    Regex(Option<Regex>, bool),
    Type(String),
    Never,
}

#[derive(Debug, Clone)]
enum Elem {
    Value(ValueTest),
    Object(Condition),
}

impl Condition {
    /// A condition that always holds (the empty object).
    pub fn always() -> Self {
        Condition {
            clauses: Vec::new(),
            slot: None,
        }
    }

    /// Compiles a condition; problems are collected, never fatal.
    pub fn compile(value: &Value, problems: &mut Vec<ConditionProblem>) -> Self {
        compile_condition(value, "", problems)
    }

    /// Numbers this condition: identical conditions of one snapshot share a slot, so that a
    /// request evaluates each distinct condition once.
    pub fn with_slot(self, slot: usize) -> Self {
        Condition {
            slot: Some(slot),
            ..self
        }
    }

    /// The shared slot, for conditions that have one (not the always-true empty condition).
    pub fn slot(&self) -> Option<usize> {
        self.slot.filter(|_| !self.clauses.is_empty())
    }

    /// Numbers the attribute paths this condition reads: the same path in any condition of a
    /// snapshot gets the same slot (`slots` maps each path to its slot), so that a request
    /// looks each one up once ([`Lookups`]). Paths inside `$elemMatch` read array elements, not
    /// the attributes, and keep none.
    pub fn number_paths(&mut self, slots: &mut HashMap<Vec<String>, usize>) {
        for clause in &mut self.clauses {
            match clause {
                Clause::Or(list) | Clause::Nor(list) | Clause::And(list) => {
                    for c in list {
                        c.number_paths(slots);
                    }
                }
                Clause::Not(c) => c.number_paths(slots),
                Clause::Path { path, slot, .. } => {
                    let next = slots.len();
                    *slot = Some(*slots.entry(path.clone()).or_insert(next));
                }
                Clause::Never => {}
            }
        }
    }

    /// True when the condition holds for these attributes.
    pub fn eval(&self, attributes: &Value, groups: &SavedGroups) -> bool {
        self.eval_in(&mut Lookups::new(attributes, 0), groups)
    }

    /// [`Condition::eval`] with the attribute lookups of a request kept in `at`.
    pub fn eval_in(&self, at: &mut Lookups<'_>, groups: &SavedGroups) -> bool {
        self.clauses.iter().all(|c| eval_clause(c, at, groups))
    }
}

/// The attributes a request's conditions read, with each numbered path looked up once
/// ([`Condition::number_paths`]): a large account's conditions read a few attributes many
/// times over.
#[derive(Debug)]
pub struct Lookups<'v> {
    attributes: &'v Value,
    found: Vec<Option<Option<&'v Value>>>,
}

impl<'v> Lookups<'v> {
    /// Lookups in `attributes` for a snapshot with `slots` numbered paths.
    pub fn new(attributes: &'v Value, slots: usize) -> Lookups<'v> {
        Lookups {
            attributes,
            found: vec![None; slots],
        }
    }

    fn get(&mut self, path: &[String], slot: Option<usize>) -> Option<&'v Value> {
        let attributes = self.attributes;
        once(slot.and_then(|i| self.found.get_mut(i)), || {
            get_path(attributes, path)
        })
    }
}

fn problem(problems: &mut Vec<ConditionProblem>, at: &str, message: impl Into<String>) {
    problems.push(ConditionProblem {
        at: if at.is_empty() {
            "(root)".to_string()
        } else {
            at.to_string()
        },
        message: message.into(),
    });
}

fn join(at: &str, key: &str) -> String {
    if at.is_empty() {
        key.to_string()
    } else {
        format!("{at}.{key}")
    }
}

fn compile_condition(value: &Value, at: &str, problems: &mut Vec<ConditionProblem>) -> Condition {
    let Value::Object(map) = value else {
        problem(problems, at, "a condition must be a JSON object");
        return Condition {
            clauses: vec![Clause::Never],
            slot: None,
        };
    };
    let clauses = map
        .iter()
        .map(|(key, v)| {
            let here = join(at, key);
            match key.as_str() {
                "$or" | "$nor" | "$and" => {
                    let Value::Array(items) = v else {
                        problem(
                            problems,
                            &here,
                            format!("{key} takes an array of conditions"),
                        );
                        return Clause::Never;
                    };
                    let list = items
                        .iter()
                        .enumerate()
                        .map(|(i, c)| compile_condition(c, &format!("{here}[{i}]"), problems))
                        .collect();
                    match key.as_str() {
                        "$or" => Clause::Or(list),
                        "$nor" => Clause::Nor(list),
                        _ => Clause::And(list),
                    }
                }
                "$not" => Clause::Not(Box::new(compile_condition(v, &here, problems))),
                _ => Clause::Path {
                    path: key.split('.').map(str::to_string).collect(),
                    slot: None,
                    test: compile_value_test(v, &here, problems),
                },
            }
        })
        .collect();
    Condition {
        clauses,
        slot: None,
    }
}

fn is_operator_object(map: &Map<String, Value>) -> bool {
    !map.is_empty() && map.keys().all(|k| k.starts_with('$'))
}

fn compile_value_test(v: &Value, at: &str, problems: &mut Vec<ConditionProblem>) -> ValueTest {
    match v {
        Value::String(s) => ValueTest::Str(s.clone()),
        Value::Number(n) => ValueTest::Num(n.as_f64().unwrap_or(f64::NAN)),
        Value::Bool(b) => ValueTest::Bool(*b),
        Value::Null => ValueTest::Null,
        Value::Object(map) if is_operator_object(map) => ValueTest::Ops(
            map.iter()
                .map(|(op, arg)| compile_op(op, arg, &join(at, op), problems))
                .collect(),
        ),
        other => ValueTest::Deep(other.clone()),
    }
}

fn compile_regex(pattern: &Value, insensitive: bool) -> Option<Regex> {
    let Value::String(p) = pattern else {
        return None;
    };
    RegexBuilder::new(p)
        .case_insensitive(insensitive)
        .size_limit(1 << 16)
        .build()
        .ok()
}

fn compile_op(op: &str, arg: &Value, at: &str, problems: &mut Vec<ConditionProblem>) -> Op {
    let array = |problems: &mut Vec<ConditionProblem>| match arg {
        Value::Array(items) => Some(items.clone()),
        _ => {
            problem(problems, at, format!("{op} takes an array"));
            None
        }
    };
    let version = |ord, eq| Op::Version(ord, eq, padded_version(arg));
    match op {
        "$veq" => version(Ordering::Equal, true),
        "$vne" => version(Ordering::Equal, false),
        "$vgt" => version(Ordering::Greater, false),
        "$vgte" => version(Ordering::Greater, true),
        "$vlt" => version(Ordering::Less, false),
        "$vlte" => version(Ordering::Less, true),
        "$eq" => Op::Eq(arg.clone()),
        "$ne" => Op::Ne(arg.clone()),
        "$lt" => Op::Cmp(Ordering::Less, false, arg.clone()),
        "$lte" => Op::Cmp(Ordering::Less, true, arg.clone()),
        "$gt" => Op::Cmp(Ordering::Greater, false, arg.clone()),
        "$gte" => Op::Cmp(Ordering::Greater, true, arg.clone()),
        "$exists" => Op::Exists(truthy(Some(arg))),
        "$in" | "$ini" => array(problems).map_or(Op::Never, |a| Op::In(a, op == "$ini")),
        "$nin" | "$nini" => array(problems).map_or(Op::Never, |a| Op::Nin(a, op == "$nini")),
        "$inGroup" | "$notInGroup" => match arg {
            Value::String(g) => Op::InGroup(g.clone(), op == "$inGroup"),
            _ => {
                problem(problems, at, format!("{op} takes a saved group name"));
                Op::Never
            }
        },
        "$not" => Op::Not(Box::new(compile_value_test(arg, at, problems))),
        "$size" => Op::Size(Box::new(compile_value_test(arg, at, problems))),
        "$elemMatch" => Op::ElemMatch(Box::new(match arg {
            Value::Object(map) if is_operator_object(map) => {
                Elem::Value(compile_value_test(arg, at, problems))
            }
            _ => Elem::Object(compile_condition(arg, at, problems)),
        })),
        "$all" => array(problems).map_or(Op::Never, |a| {
            Op::All(
                a.iter()
                    .map(|v| compile_value_test(v, at, problems))
                    .collect(),
            )
        }),
        "$alli" => array(problems).map_or(Op::Never, Op::AllI),
        "$regex" | "$regexi" | "$notRegex" | "$notRegexi" => {
            let insensitive = op.ends_with('i');
            let re = compile_regex(arg, insensitive);
            if re.is_none() {
                problem(
                    problems,
                    at,
                    format!("{op} pattern is not a valid regular expression"),
                );
            }
            Op::Regex(re, op.starts_with("$not"))
        }
        "$type" => match arg {
            Value::String(t) => Op::Type(t.clone()),
            _ => {
                problem(problems, at, "$type takes a type name");
                Op::Never
            }
        },
        _ => {
            problem(problems, at, format!("unknown operator {op}"));
            Op::Never
        }
    }
}

fn get_path<'a>(attributes: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut current = attributes;
    for part in path {
        current = current.as_object()?.get(part)?;
    }
    Some(current)
}

fn eval_clause(clause: &Clause, at: &mut Lookups<'_>, groups: &SavedGroups) -> bool {
    match clause {
        Clause::Or(list) => list.is_empty() || list.iter().any(|c| c.eval_in(at, groups)),
        Clause::Nor(list) => !(list.is_empty() || list.iter().any(|c| c.eval_in(at, groups))),
        Clause::And(list) => list.iter().all(|c| c.eval_in(at, groups)),
        Clause::Not(c) => !c.eval_in(at, groups),
        Clause::Path { path, slot, test } => eval_value_test(test, at.get(path, *slot), groups),
        Clause::Never => false,
    }
}

fn eval_value_test(test: &ValueTest, actual: Option<&Value>, groups: &SavedGroups) -> bool {
    let actual = actual.filter(|v| !v.is_null());
    match test {
        ValueTest::Str(s) => js_string(actual) == *s,
        ValueTest::Num(n) => js_number(actual) == *n,
        ValueTest::Bool(b) => actual.is_some() && truthy(actual) == *b,
        ValueTest::Null => actual.is_none(),
        ValueTest::Deep(expected) => actual.unwrap_or(&Value::Null) == expected,
        ValueTest::Ops(ops) => ops.iter().all(|op| eval_op(op, actual, groups)),
    }
}

fn eval_op(op: &Op, actual: Option<&Value>, groups: &SavedGroups) -> bool {
    match op {
        Op::Version(ord, eq, expected) => {
            let got = padded_version(actual.unwrap_or(&Value::Null));
            let c = got.as_str().cmp(expected.as_str());
            match (ord, eq) {
                (Ordering::Equal, want) => (c == Ordering::Equal) == *want,
                (o, inclusive) => c == *o || (*inclusive && c == Ordering::Equal),
            }
        }
        Op::Eq(expected) => strict_eq(actual, expected),
        Op::Ne(expected) => !strict_eq(actual, expected),
        Op::Cmp(ord, inclusive, expected) => match js_compare(actual, expected) {
            Some(c) => c == *ord || (*inclusive && c == Ordering::Equal),
            None => false,
        },
        Op::Exists(want) => actual.is_some() == *want,
        Op::In(list, fold) => is_in(actual, list, *fold),
        Op::Nin(list, fold) => !is_in(actual, list, *fold),
        Op::InGroup(name, want) => {
            let list = groups.get(name).map(Vec::as_slice).unwrap_or(&[]);
            is_in(actual, list, false) == *want
        }
        Op::Not(test) => !eval_value_test(test, actual, groups),
        Op::Size(test) => match actual {
            Some(Value::Array(items)) => {
                eval_value_test(test, Some(&Value::from(items.len())), groups)
            }
            _ => false,
        },
        Op::ElemMatch(elem) => match actual {
            Some(Value::Array(items)) => items.iter().any(|item| {
                truthy(Some(item))
                    && match elem.as_ref() {
                        Elem::Value(t) => eval_value_test(t, Some(item), groups),
                        Elem::Object(c) => c.eval(item, groups),
                    }
            }),
            _ => false,
        },
        Op::All(tests) => match actual {
            Some(Value::Array(items)) => tests
                .iter()
                .all(|t| items.iter().any(|i| eval_value_test(t, Some(i), groups))),
            _ => false,
        },
        Op::AllI(expected) => match actual {
            Some(Value::Array(items)) => expected
                .iter()
                .all(|e| items.iter().any(|i| folded_eq(i, e))),
            _ => false,
        },
        Op::Regex(re, negate) => match re {
            Some(re) => re.is_match(&js_string(actual)) != *negate,
            None => false,
        },
        Op::Type(t) => type_name(actual) == t,
        Op::Never => false,
    }
}

fn is_in(actual: Option<&Value>, list: &[Value], fold: bool) -> bool {
    let matches = |a: &Value| {
        list.iter()
            .any(|e| if fold { folded_eq(a, e) } else { a == e })
    };
    match actual {
        Some(Value::Array(items)) => items.iter().any(matches),
        Some(v) => matches(v),
        None => matches(&Value::Null),
    }
}

fn folded_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.to_lowercase() == y.to_lowercase(),
        _ => a == b,
    }
}

/// JavaScript `===` for the value shapes JSON has: objects and arrays are never identical.
fn strict_eq(actual: Option<&Value>, expected: &Value) -> bool {
    match (actual, expected) {
        (None, Value::Null) => true,
        (Some(Value::Number(a)), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Some(Value::String(a)), Value::String(b)) => a == b,
        (Some(Value::Bool(a)), Value::Bool(b)) => a == b,
        _ => false,
    }
}
