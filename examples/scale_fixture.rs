//! Prints the scale account's snapshot (or availability, or the request its benchmark decision
//! sends to the visit's object, or what that object stores after five page views) as JSON.
//! `cargo run --release --example scale_fixture -- [engagements] [seed] [--availability | --visit-request | --visit-values]`

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--availability") {
        println!("{}", edge_engage::scale::availability());
        return;
    }
    if args.iter().any(|a| a == "--visit-values") {
        println!(
            "{}",
            edge_engage::scale::bench::scale_visit_values_json().unwrap_or_default()
        );
        return;
    }
    if args.iter().any(|a| a == "--visit-request") {
        println!(
            "{}",
            edge_engage::scale::bench::scale_visit_request_json().unwrap_or_default()
        );
        return;
    }
    let engagements = args.first().and_then(|a| a.parse().ok()).unwrap_or(2_000);
    let seed = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(7);
    println!("{}", edge_engage::scale::snapshot(seed, engagements));
}
